"""The Noto emoji dataset, built by its tfds builder from the npm package, and the
classifier the zoo ships for it."""

import json

import numpy as np
import pytest

from zoo import data
from zoo.data import noto_emoji
from zoo.evaluation.features import DomainClassifier, extractor_for


@pytest.fixture
def emoji(noto_emoji_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(noto_emoji_dir))
    return data.source(noto_emoji.NAME)


def test_every_image_but_the_components_in_two_disjoint_splits(emoji):
    entries = json.loads((noto_emoji.package_dir() / "emoji.json").read_text())
    assert emoji.spec == data.DatasetSpec((64, 64, 3), 9, noto_emoji.CATEGORIES)
    assert emoji.reference_split == "test"
    assert emoji.num_examples("train") + emoji.num_examples("test") == 3781  # 3,786 less 5 components
    test_share = np.mean([noto_emoji.is_test(e["unified"]) for e in entries])
    assert 0.15 < test_share < 0.25
    images, labels = data.real_images(emoji, labels=True)
    assert images.shape == (703, 64, 64, 3) and set(np.unique(labels)) == set(range(9))
    assert np.mean(images[:, 0, 0] == 1.0) > 0.95  # transparent corners composited on white
    builder = data.prepare(noto_emoji.NAME)
    names = {split: {ex["short_name"].numpy() for ex in builder.as_dataset(split=split)}
             for split in ("train", "test")}  # fmt: skip
    assert not names["train"] & names["test"]  # skin-tone variants stay with their emoji


def test_the_shipped_classifier_reaches_its_recorded_accuracy(emoji):
    classifier = DomainClassifier.shipped(noto_emoji.NAME)
    assert isinstance(extractor_for(noto_emoji.NAME, image_shape=(64, 64, 3)), DomainClassifier)
    images, labels = data.real_images(emoji, labels=True)
    _, logits = classifier(images)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == labels))
    majority = np.bincount(labels).max() / len(labels)
    assert accuracy >= 0.75 and accuracy > majority + 0.15
    assert accuracy == pytest.approx(classifier.info["test_accuracy"], abs=1e-3)
    assert classifier.info["class_names"] == list(noto_emoji.CATEGORIES)
