"""The sampling page (`ganzoo export --web`) in headless Chromium, served from the export folder."""

import functools
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import onnxruntime as ort
import pytest

import recipes
from export import artifacts, manifest
from export import sample as sampler
from export import web as web_page
from recipes import cli
from tests import helpers
from zoo import contract
from zoo.errors import ZooError

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path(__file__).with_name("web_page.mjs")
PLAYWRIGHT = web_page.HERE / "node_modules" / "playwright-core" / "package.json"
PAGE_FILES = {f"web/{name}" for name in (*web_page.PAGE, *web_page.RUNTIME)}


def _require_page_tools() -> None:
    """The page needs onnxruntime-web, its test Chromium, node and playwright-core."""
    wanted = [CHROMIUM, PLAYWRIGHT, *(web_page.DIST / name for name in web_page.RUNTIME)]
    missing = [str(p) for p in wanted if not p.exists()]
    if shutil.which("node") is None:
        missing.append("node")
    if missing:
        pytest.fail(f"missing {', '.join(missing)}; `make test` installs them (its `web` target)")


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",  # what WebAssembly.instantiateStreaming insists on
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def log_message(self, *args):
        pass


def _browse(folder: Path, cases: list[dict], screenshot: Path | None = None) -> dict:
    """Serves `folder` on 127.0.0.1 and runs the page driver on web/index.html (`screenshot`:
    where it saves a picture of the page)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        job = {
            "url": f"http://127.0.0.1:{server.server_port}/web/index.html",
            "chromium": str(CHROMIUM),
            "cases": cases,
            **({"screenshot": str(screenshot)} if screenshot else {}),
        }
        command = ["node", str(DRIVER)]
        done = subprocess.run(command, input=json.dumps(job), capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        return {**json.loads(done.stdout), "port": server.server_port}
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _generator(out: Path, inputs: dict) -> np.ndarray:
    """G on the page's inputs (JSON lists), through onnxruntime in Python."""
    specs = manifest.read(out)["generator"]["inputs"]
    session = ort.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    return session.run(["image"], {s["name"]: np.asarray(inputs[s["name"]], s["dtype"]) for s in specs})[0]


def _cases(written: dict) -> list[dict]:
    """Three examples with inputs the test chooses, and the same inputs for Python."""
    rng = np.random.default_rng(123)
    z = rng.standard_normal((3, written["latent_dim"])).astype(np.float32)
    z[0] = 0.0
    extra = {}
    if written["num_classes"]:
        extra["label"] = [0, 1, written["num_classes"] - 1]
    for name, code in (written["codes"] or {}).items():
        if code["kind"] == "categorical":
            extra[name] = [2, 0, code["size"] - 1]
        else:
            values = rng.uniform(code["low"], code["high"], (3, code["size"]))
            extra[name] = values.astype(np.float32).tolist()
    return [{"z": z.tolist(), "extra": extra}]


@pytest.fixture(scope="module", params=["cgan", "infogan"])
def browsed(request, tmp_path_factory):
    """(export folder, manifest, driver results): `ganzoo export RUN --web`, then the page."""
    _require_page_tools()
    run = tmp_path_factory.mktemp(request.param)
    model = helpers.fit_briefly(helpers.tiny(request.param))
    model.save(run / "final.keras")
    _judge(model, request.param).save(run / "judge")
    recipe = recipes.get(f"{request.param}-fashion-mnist")  # a run directory holds its recipe too
    (run / "config.json").write_text(json.dumps(recipe.to_dict()))
    assert cli.main(["export", str(run), "--web"]) == 0
    out = run / "export"
    written = manifest.read(out)
    cases = _cases(written)
    return out, written, cases, _browse(out, cases)


def _judge(model, variant: str):
    """The run's judge: cgan's a critic classing samples by label, infogan's its discriminator
    classing them with the shipped classifier; the class-share rule rejects 30% per class."""
    from zoo.evaluation.features import DomainClassifier
    from zoo.evaluation.judge import Judge

    real = helpers.structured_images(200, seed=8)
    inputs = model.sample_inputs(200, 9)
    fake = model.generate(200, inputs=inputs)
    if variant == "cgan":
        judge = Judge.train_critic(model, real, epochs=1)
        classes, k = (np.arange(200) % helpers.NUM_CLASSES, inputs["label"]), helpers.NUM_CLASSES
        source = "label"
    else:
        judge = Judge.from_discriminator(model)
        judge.classifier = DomainClassifier.shipped("fashion_mnist").network
        judge.info.update(classes_from="classifier", dataset="fashion_mnist")
        classes, k, source = (judge.classes(real), judge.classes(fake)), 10, "classifier"
    return judge.calibrate(real, fake, 0.9, *classes, k, source, rule="class-share")


def _python_verdicts(out: Path, written: dict, inputs: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(real), calibrated logit, accepted) of the judge on G's images for `inputs`, in Python."""
    images = _generator(out, inputs)
    exported = sampler.Exported(out, written)
    logits = exported.judge_logits(images)
    classes = exported.classes(images, {k: np.asarray(v) for k, v in inputs.items()})
    card = written["judge_calibration"]
    return exported.p_real(images), logits, contract.accepted(logits, classes, card)


def _frame_colours(snapshot: dict, cols: int) -> list[tuple]:
    """The colour of each cell's frame (its top-left corner, in the padding)."""
    grid = _canvas(snapshot, "grid")
    cells = range(len(snapshot["verdicts"]))
    return [tuple(int(v) for v in grid[1 + (i // cols) * 30, 1 + (i % cols) * 30, :3]) for i in cells]


ACCEPTED, REJECTED = (0, 200, 80), (220, 40, 40)


def _grid(out: Path, written: dict, snapshot: dict) -> np.ndarray:
    """The grid canvas the page should show for its inputs, as zoo.images draws grids."""
    return contract.grid(_generator(out, snapshot["inputs"]), cols=_cols(written))


def _cols(written: dict) -> int:
    """The page's columns: one per class or categorical code value."""
    codes = (written["codes"] or {}).values()
    return written["num_classes"] or next(c["size"] for c in codes if c["kind"] == "categorical")


def _canvas(snapshot: dict, name: str) -> np.ndarray:
    canvas = snapshot[name]
    return np.asarray(canvas["rgba"], np.int32).reshape(canvas["height"], canvas["width"], 4)


def _assert_shows(out, written, snapshot):
    grid, focus = _canvas(snapshot, "grid"), _canvas(snapshot, "focus")
    want = _grid(out, written, snapshot)[..., 0].astype(np.int32)
    assert grid.shape[:2] == want.shape
    assert np.all(grid[..., 3] == 255)
    cells = np.zeros(want.shape, bool)  # the images; the padding between them holds the judge's frames
    for y in range(2, want.shape[0], 30):
        for x in range(2, want.shape[1], 30):
            cells[y : y + 28, x : x + 28] = True
    for channel in range(3):  # gray images: R = G = B
        diff = np.abs(grid[..., channel] - want)[cells]
        # wasm and Python runs differ by ~1e-7, which flips the rounding of a rare pixel
        assert diff.max() <= 1 and np.mean(diff > 0) < 0.01, (diff.max(), np.mean(diff > 0))
    first = grid[2 : 2 + 28, 2 : 2 + 28]
    np.testing.assert_array_equal(focus, first)
    return grid


def test_the_page_loads_only_from_the_export_server(browsed):
    _, _, _, result = browsed
    assert result["ready"] == "ok", result.get("status")
    assert result["errors"] == []
    assert "onnxruntime-web" in result["status"]
    hosts = {(urlsplit(u).scheme, urlsplit(u).hostname, urlsplit(u).port) for u in result["requests"]}
    assert hosts == {("http", "127.0.0.1", result["port"])}
    paths = {urlsplit(u).path for u in result["requests"]}
    assert {"/manifest.json", "/generator.onnx", "/web/ort-wasm-simd-threaded.wasm"} <= paths


def test_run_matches_onnxruntime_in_python(browsed):
    out, _, cases, result = browsed
    for case, got in zip(cases, result["runs"], strict=True):
        want = _generator(out, {"z": case["z"], **case["extra"]})
        assert got["dims"] == list(want.shape) == [3, 28, 28, 1]
        image = np.asarray(got["image"], np.float32).reshape(want.shape)
        assert np.max(np.abs(image - want)) < 1e-4
        assert np.std(want) > 0 and not np.allclose(want[0], want[1])


def test_the_canvas_shows_the_generator_on_the_pages_inputs(browsed):
    out, written, _, result = browsed
    grid = _assert_shows(out, written, result["loaded"])
    cells = grid[2:-2, 2:-2, 0]
    assert len(np.unique(cells[cells > 0])) > 5  # pixels vary; not one flat value


def test_a_slider_and_new_samples_redraw(browsed):
    out, written, _, result = browsed
    loaded, slid, resampled = result["loaded"], result["slid"], result["resampled"]
    assert abs(slid["inputs"]["z"][0][0]) == 3.0  # moved to one end of the slider
    assert slid["inputs"]["z"][1:] == loaded["inputs"]["z"][1:]
    _assert_shows(out, written, slid)
    assert not np.array_equal(_canvas(slid, "focus"), _canvas(loaded, "focus"))
    assert resampled["inputs"]["z"] != loaded["inputs"]["z"]
    _assert_shows(out, written, resampled)
    assert not np.array_equal(_canvas(resampled, "grid"), _canvas(loaded, "grid"))


def test_the_manifest_covers_the_page(browsed):
    out, written, _, _ = browsed
    assert set(written["files"]) >= PAGE_FILES
    for name in web_page.PAGE:
        assert written["files"][f"web/{name}"] == contract.sha256(web_page.HERE / name)
    for name in web_page.RUNTIME:
        assert written["files"][f"web/{name}"] == contract.sha256(web_page.DIST / name)
    assert sorted(p.name for p in (out / "web").iterdir()) == sorted(n.split("/")[1] for n in PAGE_FILES)


def test_without_onnxruntime_web_export_fails_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(web_page, "DIST", tmp_path / "not-installed")
    out = tmp_path / "run" / "export"
    with pytest.raises(ZooError, match="run `make web`"):
        artifacts.export_model(helpers.tiny("dcgan"), out, web=True)
    assert list((tmp_path / "run").iterdir()) == []


def test_the_page_shows_the_judges_verdicts_as_python_computes_them(browsed):
    out, written, _, result = browsed
    for name in ("loaded", "resampled"):
        shown = result[name]
        verdicts = shown["verdicts"]
        p_real, logits, accepted = _python_verdicts(out, written, shown["inputs"])
        assert len(verdicts) == len(p_real) == len(shown["inputs"]["z"])
        np.testing.assert_allclose([v["pReal"] for v in verdicts], p_real, atol=1e-4)
        np.testing.assert_allclose([v["logit"] for v in verdicts], logits, atol=1e-4, rtol=1e-5)
        got = np.array([v["accepted"] for v in verdicts])
        thresholds = np.array(written["judge_calibration"]["rules"]["class-share"]["thresholds"])
        classes = np.array([v["cls"] for v in verdicts])
        near = np.abs(logits - np.array([contract.logit_of(t) for t in thresholds[classes]])) < 1e-4
        np.testing.assert_array_equal(got[~near], accepted[~near])
        assert got.any() and not got.all()  # the grid shows both verdicts
        assert _frame_colours(shown, _cols(written)) == [ACCEPTED if a else REJECTED for a in got]
        assert f"{int(got.sum())} of {len(got)} accepted" in shown["verdict"]


def test_only_good_enough_leaves_only_accepted_samples(browsed):
    out, written, _, result = browsed
    filtered = result["filtered"]
    assert all(v["accepted"] for v in filtered["verdicts"])
    _, _, accepted = _python_verdicts(out, written, filtered["inputs"])
    assert accepted.all()  # Python's judge accepts every sample on the canvas
    _assert_shows(out, written, filtered)  # the canvas is G on those inputs
    cols = _cols(written)
    assert set(_frame_colours(filtered, cols)) == {ACCEPTED}
    discrete = "label" if written["num_classes"] else "code_cat"
    assert filtered["inputs"][discrete] == [i % cols for i in range(len(filtered["inputs"]["z"]))]


def test_the_page_refines_z_as_python_does(browsed):
    """Three noiseless steps in the browser land where `contract.langevin` on refine.onnx's
    gradient in Python does (float32 runs of the same graph: within 1e-4)."""
    out, written, cases, result = browsed
    case = cases[0]
    inputs = {"z": np.asarray(case["z"], np.float32), **{k: np.asarray(v) for k, v in case["extra"].items()}}
    exported = sampler.Exported(out, written)
    want = contract.langevin(inputs, exported.energy_gradient, steps=3, step_size=0.05, noise=0.0, bound=3.0)[
        "z"
    ]
    got = np.asarray(result["refined"], np.float32)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    assert np.abs(got - inputs["z"]).max() > 1e-3  # the judge moved z


def test_refinement_on_redraws_the_grid_from_refined_inputs(browsed):
    out, written, _, result = browsed
    plain, refined = result["unrefined"], result["refinedGrid"]
    z, z0 = np.asarray(refined["inputs"]["z"]), np.asarray(plain["inputs"]["z"])
    assert z.shape == z0.shape and np.abs(z).max() <= 3.0
    assert 0 < np.abs(z - z0).mean() < 0.5  # moved from the same seed's draw, not redrawn
    for name in set(plain["inputs"]) - {"z"}:
        assert refined["inputs"][name] == plain["inputs"][name]
    _assert_shows(out, written, refined)  # the canvas is G on the refined inputs
