"""Redraws docs/web-page.png: the sampling page on the DCGAN preset's export, in headless Chromium.

    make web-screenshot
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from export.artifacts import export_trained
    from tests.export import test_web

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "export"
        export_trained("dcgan-fashion-mnist", out, web=True)
        shot = Path(folder) / "web-page.png"
        test_web._browse(out, [], screenshot=shot)
        from PIL import Image

        # A 64-colour palette keeps the picture small in git (the page has few colours).
        picture = Image.open(shot).convert("RGB").quantize(64)
        picture.save(ROOT / "docs" / "web-page.png", optimize=True)
    print(f"wrote {ROOT / 'docs' / 'web-page.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
