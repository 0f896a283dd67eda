"""Drives gan-zoo pages in headless Chromium (tests/export/web_page.mjs), served from a folder
on 127.0.0.1 or opened from disk."""

import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from export import web as web_page

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path(__file__).with_name("web_page.mjs")
PLAYWRIGHT = web_page.HERE / "node_modules" / "playwright-core" / "package.json"


def require_tools() -> None:
    """The pages need onnxruntime-web, its test Chromium, node and playwright-core."""
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


@contextlib.contextmanager
def served(folder: Path):
    """Serves `folder` on 127.0.0.1; yields the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def browse(url: str, samplers: list[dict], offline: bool = False, timeout: int = 300) -> dict:
    """Runs the driver on `url` (see web_page.mjs for `samplers`)."""
    require_tools()
    job = {"url": url, "chromium": str(CHROMIUM), "samplers": samplers, "offline": offline}
    done = subprocess.run(["node", str(DRIVER)], input=json.dumps(job), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def canvas(snapshot: dict, name: str) -> np.ndarray:
    shown = snapshot[name]
    return np.asarray(shown["rgba"], np.int32).reshape(shown["height"], shown["width"], 4)


def assert_picture(shown: np.ndarray, want: np.ndarray, cell: int | None = None, pad: int = 2) -> None:
    """A canvas (RGBA) shows `want` (uint8 H x W x C from `contract.grid` or one image): wasm
    and Python runs differ by ~1e-7, which flips the rounding of a rare pixel. With `cell`,
    only the images of a grid are compared (its padding holds the judge's frames)."""
    want = want.astype(np.int32)
    assert shown.shape[:2] == want.shape[:2], (shown.shape, want.shape)
    assert np.all(shown[..., 3] == 255)
    inside = np.ones(want.shape[:2], bool)
    if cell:
        inside[:] = False
        for y in range(pad, want.shape[0], cell + pad):
            for x in range(pad, want.shape[1], cell + pad):
                inside[y : y + cell, x : x + cell] = True
    for channel in range(3):
        diff = np.abs(shown[..., channel] - want[..., min(channel, want.shape[-1] - 1)])[inside]
        assert diff.max() <= 1 and np.mean(diff > 0) < 0.01, (diff.max(), np.mean(diff > 0))


def assert_same_latents(page: dict, python: dict) -> None:
    """The page's inputs equal Python's: integers exactly, floats to within one float32 unit
    in the last place (log and cos may round the last float64 bit differently)."""
    assert set(page) == set(python)
    for name, want in python.items():
        got = np.asarray(page[name]).astype(want.dtype)
        assert got.shape == want.shape, name
        if np.issubdtype(want.dtype, np.integer):
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_array_max_ulp(got, want, maxulp=1)
