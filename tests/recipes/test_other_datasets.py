"""The recipes whose data cannot be had offline (MNIST, CIFAR-10, CelebA) still run end to end:
the real loading path on tfds' own mock data, a few steps of `fit`, the judge and an export
with parity. Narrow networks keep it quick; everything else is the recipe's own."""

import dataclasses
import json

import pytest
import tensorflow_datasets as tfds

import recipes
from export import artifacts
from zoo import data
from zoo.presets import locate

OFFLINE = ("fashion_mnist", "noto_emoji")
OTHER = [name for name, recipe in recipes.RECIPES.items() if recipe.dataset not in OFFLINE]
EXAMPLES = 64
# Exported in full here; the other recipes' networks are the same builders at the same sizes,
# whose export parity tests/zoo/models/variants/ checks for every variant (test_common.py) and at
# 28 to 128 px, in gray and colour (test_sizes.py).
EXPORTED = {"cgan-mnist", "infogan-mnist", "dcgan-celeba-64", "wgan-gp-cifar10"}
# Any tfds dataset with an image feature: one of variable-sized photos with a train split only.
ANY_TFDS = "cats_vs_dogs"


@pytest.fixture(scope="module")
def mock_data_dir(tmp_path_factory):
    """A data dir holding only tfds metadata (train and test splits of EXAMPLES each) for
    the datasets: tfds counts them as prepared, and mock_data makes up their examples."""
    root = tmp_path_factory.mktemp("mock_tfds")
    for name in {recipes.RECIPES[r].dataset for r in OTHER} | {ANY_TFDS}:
        builder = tfds.builder(name, data_dir=str(root))
        splits = [
            tfds.core.SplitInfo(
                name=split,
                shard_lengths=[EXAMPLES],
                num_bytes=0,
                filename_template=tfds.core.ShardedFileTemplate(
                    data_dir=builder.data_dir,
                    template="{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_INDEX}",
                    dataset_name=name,
                    split=split,
                    filetype_suffix="tfrecord",
                ),
            )
            for split in (("train",) if name == ANY_TFDS else ("train", "test"))
        ]
        builder.info.set_splits(tfds.core.SplitDict(splits))
        builder.data_path.mkdir(parents=True, exist_ok=True)
        builder.info.write_to_directory(builder.data_dir)
    return root


def test_every_recipe_off_fashion_mnist_is_covered():
    assert {recipes.RECIPES[r].dataset for r in OTHER} == {"mnist", "cifar10", "celeb_a"}
    assert len(OTHER) >= 10 and set(OTHER) >= EXPORTED
    assert {recipes.RECIPES[r].dataset for r in EXPORTED} == {"mnist", "cifar10", "celeb_a"}


@pytest.mark.parametrize("name", OTHER)
def test_recipe_trains_and_exports_on_mock_data(name, mock_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(mock_data_dir))
    monkeypatch.delenv(data.OFFLINE_ENV, raising=False)
    recipe = dataclasses.replace(
        recipes.RECIPES[name], g_width=8, d_width=8, batch_size=8, epochs=1, steps_per_epoch=2
    )
    with tfds.testing.mock_data(num_examples=EXAMPLES, data_dir=str(mock_data_dir)):
        spec = data.source_of(recipe).spec
        summary = recipes.run(recipe, tmp_path, verbose=0, export=name in EXPORTED)
    assert summary["generator_steps"] == 2 and summary["stopped_by"] == "epochs"
    assert summary["judge"]["calibration_size"] > 0
    model = locate(tmp_path).model()
    assert model.image_shape == spec.image_shape and model.num_classes == (
        spec.num_classes if model.conditional else None
    )
    if name not in EXPORTED:
        assert not (tmp_path / "export").exists()
        return
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert manifest["image_shape"] == list(spec.image_shape) and manifest["variant"] == recipe.variant
    for network in ("generator", "discriminator", "judge"):
        diffs = manifest["parity"][network]
        tolerance = artifacts.PARITY_TOLERANCE * manifest["parity"]["output_scale"][network]
        assert diffs and all(v <= tolerance for v in diffs.values()), (network, diffs)


def test_any_tfds_dataset_with_an_image_feature(mock_data_dir, tmp_path, monkeypatch):
    """Photos of any size, resized to the size asked; its only split is also the reference."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(mock_data_dir))
    monkeypatch.delenv(data.OFFLINE_ENV, raising=False)
    recipe = dataclasses.replace(recipes.RECIPES["acgan-fashion-mnist"], dataset=ANY_TFDS, image_size=32,
                                 g_width=8, d_width=8, batch_size=8, epochs=1, steps_per_epoch=2)  # fmt: skip
    with tfds.testing.mock_data(num_examples=EXAMPLES, data_dir=str(mock_data_dir)):
        source = data.source_of(recipe)
        assert source.spec == data.DatasetSpec((32, 32, 3), 2, ("cat", "dog"))
        assert source.reference_split == "train"
        summary = recipes.run(recipe, tmp_path, verbose=0)
    assert summary["generator_steps"] == 2
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert manifest["image_shape"] == [32, 32, 3] and manifest["num_classes"] == 2
