"""Google's Noto emoji artwork as a tfds dataset: 3,781 RGBA images at 64x64 in 9 categories.

The images come from the npm package `emoji-datasource-google` 16.0.0 (MIT), which
`make data` installs into `data/node_modules/` with the project's package-lock; the tfds
builder below reads it as a manual download. Each image's label is its emoji's category in
`emoji.json` (skin-tone variants share their emoji's); the 5 "Component" images (hair and
skin swatches) are left out. The test split holds every fifth emoji, chosen by a hash of
its code point, with all its skin-tone variants, so no emoji is in both splits.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

NAME = "noto_emoji"
PACKAGE = "emoji-datasource-google"
ENV = "GANZOO_EMOJI_DIR"  # the package folder, where it is not under data/node_modules
CATEGORIES = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
              "Activities", "Objects", "Symbols", "Flags")  # fmt: skip
TEST_SHARE = 5  # one emoji in TEST_SHARE goes to the test split


def package_dir() -> Path:
    """Where the npm package is: $GANZOO_EMOJI_DIR, else data/node_modules beside the code."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    return Path(__file__).resolve().parents[2] / "data" / "node_modules" / PACKAGE


def is_test(unified: str) -> bool:
    return int(hashlib.sha256(unified.encode()).hexdigest()[:8], 16) % TEST_SHARE == 0


class NotoEmoji(tfds.core.GeneratorBasedBuilder):
    """Noto emoji at 64x64 RGBA with their Unicode category as the label."""

    VERSION = tfds.core.Version("16.0.0")  # the npm package's version
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"Run `make data` (npm ci in data/), or set {ENV} to the {PACKAGE} folder."

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(64, 64, 4)),
                    "label": tfds.features.ClassLabel(names=list(CATEGORIES)),
                    "short_name": tfds.features.Text(),
                }
            ),
            supervised_keys=("image", "label"),
            license="MIT (the npm package); the Noto emoji artwork is Apache-2.0",
        )

    def _split_generators(self, dl_manager):
        root = Path(dl_manager.manual_dir)
        entries = json.loads((root / "emoji.json").read_text())
        return {
            "train": self._generate_examples(root, entries, test=False),
            "test": self._generate_examples(root, entries, test=True),
        }

    def _generate_examples(self, root: Path, entries: list, test: bool):
        from PIL import Image

        for entry in entries:
            if entry["category"] not in CATEGORIES or is_test(entry["unified"]) != test:
                continue
            variants = [entry, *(entry.get("skin_variations") or {}).values()]
            for variant in variants:
                if not variant.get("has_img_google"):
                    continue
                with Image.open(root / "img" / "google" / "64" / variant["image"]) as image:
                    rgba = np.asarray(image.convert("RGBA"))
                yield (
                    variant["image"],
                    {
                        "image": rgba,
                        "label": entry["category"],
                        "short_name": entry["short_name"],
                    },
                )
