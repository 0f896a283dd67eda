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
from export import web as web_page
from recipes import cli
from tests import helpers
from zoo import images
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


def _browse(folder: Path, cases: list[dict]) -> dict:
    """Serves `folder` on 127.0.0.1 and runs the page driver on web/index.html."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        job = {
            "url": f"http://127.0.0.1:{server.server_port}/web/index.html",
            "chromium": str(CHROMIUM),
            "cases": cases,
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
    helpers.fit_briefly(helpers.tiny(request.param)).save(run / "final.keras")
    recipe = recipes.get(f"{request.param}-fashion-mnist")  # a run directory holds its recipe too
    (run / "config.json").write_text(json.dumps(recipe.to_dict()))
    assert cli.main(["export", str(run), "--web"]) == 0
    out = run / "export"
    written = manifest.read(out)
    cases = _cases(written)
    return out, written, cases, _browse(out, cases)


def _grid(out: Path, written: dict, snapshot: dict) -> np.ndarray:
    """The grid canvas the page should show for its inputs, as zoo.images draws grids."""
    codes = (written["codes"] or {}).values()
    cols = written["num_classes"] or next(c["size"] for c in codes if c["kind"] == "categorical")
    return images.grid(_generator(out, snapshot["inputs"]), cols=cols)


def _canvas(snapshot: dict, name: str) -> np.ndarray:
    canvas = snapshot[name]
    return np.asarray(canvas["rgba"], np.int32).reshape(canvas["height"], canvas["width"], 4)


def _assert_shows(out, written, snapshot):
    grid, focus = _canvas(snapshot, "grid"), _canvas(snapshot, "focus")
    want = _grid(out, written, snapshot)[..., 0].astype(np.int32)
    assert grid.shape[:2] == want.shape
    assert np.all(grid[..., 3] == 255)
    for channel in range(3):  # gray images: R = G = B
        diff = np.abs(grid[..., channel] - want)
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
        assert written["files"][f"web/{name}"] == manifest.sha256(web_page.HERE / name)
    for name in web_page.RUNTIME:
        assert written["files"][f"web/{name}"] == manifest.sha256(web_page.DIST / name)
    assert sorted(p.name for p in (out / "web").iterdir()) == sorted(n.split("/")[1] for n in PAGE_FILES)


def test_without_onnxruntime_web_export_fails_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(web_page, "DIST", tmp_path / "not-installed")
    out = tmp_path / "run" / "export"
    with pytest.raises(ZooError, match="run `make web`"):
        artifacts.export_model(helpers.tiny("dcgan"), out, web=True)
    assert list((tmp_path / "run").iterdir()) == []
