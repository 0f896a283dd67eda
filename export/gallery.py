"""`ganzoo gallery --out DIR`: one static site of every shipped preset.

A card per preset (its `ganzoo eval` figures beside the real-data floor, a grid of samples
drawn in Python) and, on demand, a live sampler of its ONNX export in onnxruntime-web
(`export/web/sampler.js`): seed, class, codes, truncation, a walk between two samples, the
judge's verdicts. Everything the page loads is a classic script beside it (each export's
files in base64, onnxruntime-web's module source and .wasm), because a browser neither
fetches nor imports modules from a page opened from disk; the same folder also serves as is
(`python -m http.server`).
"""

import base64
import json
import shutil
import time
from pathlib import Path

from export import artifacts
from export import web as web_page
from zoo import contract, presets
from zoo.errors import ZooError
from zoo.files import staged_folder

RUNTIME = "runtime"  # the scripts and onnxruntime-web, shared by every card
SCRIPTS = ("steering.js", "sampler.js", "sampler.css", "gallery.js")
FILES = "files.js"  # an export's files, as sampler.js reads them


def build(out_dir: str | Path, names: list[str] | None = None, replace: bool = False, log=print) -> Path:
    """Writes the gallery of `names` (default: every shipped preset) to `out_dir`, assembled
    under a temporary name and renamed at the end."""
    shipped = presets.shipped()
    names = list(names or shipped)
    unknown = [name for name in names if name not in shipped]
    if unknown:
        raise ZooError(f"no shipped preset {', '.join(unknown)}; shipped: {', '.join(shipped)}")
    if not names:
        raise ZooError("there are no shipped presets to show")
    with staged_folder(out_dir, replace) as staging:
        _write_runtime(staging / RUNTIME)
        cards = []
        for name in names:
            started = time.perf_counter()
            cards.append(_write_preset(presets.locate(shipped[name]), staging, name))
            log(f"{name}: exported and drawn in {time.perf_counter() - started:.0f} s")
        data = {
            "presets": cards,
            "runtime": RUNTIME,
            "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        (staging / "gallery-data.js").write_text(f"window.ganzooGallery = {json.dumps(data, indent=1)};\n")
        shutil.copyfile(web_page.HERE / "gallery.html", staging / "index.html")
    return Path(out_dir)


def _write_runtime(folder: Path) -> None:
    """The page's scripts and onnxruntime-web as one script (its module source and .wasm)."""
    source, wasm = (web_page.DIST / name for name in web_page.RUNTIME)
    if not source.is_file() or not wasm.is_file():
        raise ZooError(f"onnxruntime-web is not installed ({web_page.DIST} lacks it); run `make web`")
    folder.mkdir()
    for name in SCRIPTS:
        shutil.copyfile(web_page.HERE / name, folder / name)
    runtime = {"source": source.read_text(), "wasm": base64.b64encode(wasm.read_bytes()).decode()}
    (folder / "ort-offline.js").write_text(f"window.ganzooOrt = {json.dumps(runtime)};\n")


def _write_preset(preset: presets.Trained, root: Path, name: str) -> dict:
    """presets/<name>/: its ONNX export (G, the judge and its classifier: no D, no refinement
    graph), files.js and grid.png; -> its card's data."""
    folder = root / "presets" / name
    model = preset.model()
    manifest = artifacts.export_model(model, folder, judge=preset.judge(), with_refine=False, onnx_only=True,
                                      with_discriminator=False)  # fmt: skip
    key = f"presets/{name}"  # the folder as the page names it
    files = {"manifest.json": folder / contract.MANIFEST}
    files.update(
        {n["onnx"]: folder / n["onnx"] for n in map(manifest.get, ("generator", "judge", "classifier")) if n}
    )
    encoded = {file: base64.b64encode(path.read_bytes()).decode() for file, path in files.items()}
    (folder / FILES).write_text(
        f"(window.ganzooFiles ??= {{}})[{json.dumps(key)}] = {json.dumps(encoded)};\n"
    )
    for path in folder.iterdir():  # the page reads files.js alone
        if path.name not in (FILES, contract.MANIFEST):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    contract.save_png(folder / "grid.png", presets.sample_grid(model))
    return {**_card(preset, name), "folder": key, "grid": f"{key}/grid.png"}


def _card(preset: presets.Trained, name: str) -> dict:
    """What a gallery card says of a preset, from its card."""
    card = preset.card or {}
    report = card.get("eval") or {}
    samples, floor = report.get("samples") or {}, report.get("real_floor") or {}
    rows = []
    shown_as = (("frechet_distance", "Frechet distance", 1), ("kid", "KID", 2), ("precision", "precision", 2),
                ("recall", "recall", 2), ("classes_covered", "classes covered", 0),
                ("label_accuracy", "label accuracy", 3))  # fmt: skip
    for key, label, digits in shown_as:
        if key in samples:
            shown = [
                f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in (samples[key], floor.get(key))
            ]
            rows.append([label, shown[0], shown[1] if floor.get(key) is not None else None])
    training = card.get("training") or {}
    steps, seconds = training.get("generator_steps") or 0, training.get("wall_seconds") or 0
    trained = f"{steps:,} generator steps in {seconds:.0f} s ({training.get('precision')})"
    return {
        "name": name,
        "variant": card.get("variant") or (preset.config or {}).get("variant", "?"),
        "dataset": card.get("dataset") or (preset.config or {}).get("dataset", "?"),
        "description": (preset.config or {}).get("description", ""),
        "training": trained if training else "trained by hand",
        "command": card.get("eval_command", f"ganzoo eval {name}"),
        "figures": rows,
        "samples_measured": report.get("n"),
    }
