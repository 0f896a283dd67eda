"""The sampling page an export can carry in `web/`: index.html, app.js and onnxruntime-web.

The page loads onnxruntime-web's wasm build from its own folder (the ES-module bundle, which
embeds the JavaScript glue, and its one .wasm file), so serving the export folder is all it
needs. onnxruntime-web comes from npm (`make web` installs the version pinned in
package.json into node_modules/).
"""

import shutil
from pathlib import Path

from zoo.errors import ZooError

HERE = Path(__file__).parent
DIST = HERE / "node_modules" / "onnxruntime-web" / "dist"
PAGE = ("index.html", "app.js", "steering.js", "sampler.js", "sampler.css")
RUNTIME = ("ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm")  # what app.js loads
FOLDER = "web"


def copy_page(export_dir: str | Path) -> Path:
    """Copies the page and the runtime files it loads into `export_dir/web/`."""
    missing = [DIST / name for name in RUNTIME if not (DIST / name).is_file()]
    if missing:
        raise ZooError(f"onnxruntime-web is not installed ({missing[0]} is missing); run `make web`")
    dest = Path(export_dir) / FOLDER
    dest.mkdir()
    for name in PAGE:
        shutil.copyfile(HERE / name, dest / name)
    for name in RUNTIME:
        shutil.copyfile(DIST / name, dest / name)
    return dest
