"""Redraws docs/web-page.png (the sampling page on the DCGAN preset's export) and
docs/gallery.png (the gallery's cGAN card, sampling sneakers live), in headless Chromium.

    make web-screenshot       # docs/web-page.png
    make gallery-screenshot   # docs/gallery.png
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _save(shot: Path, name: str) -> None:
    from PIL import Image

    # A 64-colour palette keeps the picture small in git (the pages have few colours).
    Image.open(shot).convert("RGB").quantize(64).save(ROOT / "docs" / name, optimize=True)
    print(f"wrote {ROOT / 'docs' / name}")


def web_page(folder: Path) -> None:
    from export.artifacts import export_trained
    from tests.export import browser

    out = folder / "export"
    export_trained("dcgan-fashion-mnist", out, web=True)
    shot = folder / "web-page.png"
    with browser.served(out) as port:
        browser.browse(f"http://127.0.0.1:{port}/web/index.html", [{"open": None, "screenshot": str(shot)}])
    _save(shot, "web-page.png")


def gallery(folder: Path) -> None:
    from export import gallery as site
    from tests.export import browser

    out = site.build(folder / "gallery", ["cgan-fashion-mnist", "infogan-fashion-mnist", "dcgan-noto-emoji"])
    shot = folder / "gallery.png"
    steps = [{"name": "sneakers", "select": "class", "value": "7"}, {"name": "walked", "walk": [5]}]
    spec = {"open": "cgan-fashion-mnist", "steps": steps, "screenshot": str(shot)}
    browser.browse((out / "index.html").as_uri(), [spec], offline=True)
    _save(shot, "gallery.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("picture", choices=["web-page", "gallery"])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as folder:
        (web_page if args.picture == "web-page" else gallery)(Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
