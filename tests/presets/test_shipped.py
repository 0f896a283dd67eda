"""The presets that ship: one per tuned Fashion-MNIST and Noto emoji recipe, each loading
safely, reproducing its card, exporting with parity and fine-tuning."""

import numpy as np
import pytest

import recipes
from export import artifacts
from recipes.shipping import CHECK_PER_CODE, CHECK_SAMPLES, CHECK_SEED
from recipes.trainer import _RESUMABLE_CHANGES, build_model
from zoo import data, presets
from zoo.evaluation.evaluate import Evaluator, evaluate
from zoo.evaluation.features import DomainClassifier

SHIPPED = presets.shipped()
DATASETS = ("fashion_mnist", "noto_emoji")
TUNED = sorted(name for name, r in recipes.RECIPES.items() if r.dataset in DATASETS and "-paper" not in name)
BUDGET_BYTES = 60_000_000

# Same weights and seeds give the same numbers; what may differ on another CPU is float
# rounding in the convolutions (oneDNN picks kernels by instruction set), which moves the
# Frechet distance and KID by far less than 1% and a share of 500 samples by at most a few.
RELATIVE, SHARE = 0.01, 0.01


def test_every_tuned_recipe_ships_a_preset():
    assert sorted(SHIPPED) == TUNED


def test_all_presets_together_stay_within_the_size_budget():
    total = sum(p.stat().st_size for folder in SHIPPED.values() for p in folder.rglob("*") if p.is_file())
    assert 0 < total < BUDGET_BYTES


@pytest.fixture(scope="module")
def evaluators(fashion_mnist_dir, noto_emoji_dir):
    """One evaluator per dataset, made when first asked for."""
    made = {}

    def get(dataset: str) -> Evaluator:
        if dataset not in made:
            extractor = DomainClassifier.shipped(dataset)
            made[dataset] = Evaluator(dataset, extractor, prior=extractor.info.get("class_prior"))
        return made[dataset]

    return get


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_preset_is_its_recipe_and_reproduces_its_card(name, evaluators):
    preset = presets.locate(name)
    # Every setting as the recipe has it now; the name may be the one the settings had when
    # trained (a recipe renamed after tuning), which the card records.
    ignored = {*_RESUMABLE_CHANGES, "name"}
    recipe = recipes.RECIPES[name].to_dict()
    config = recipes.Recipe.from_dict(preset.config).to_dict()  # fields added since: their defaults
    assert {k: v for k, v in config.items() if k not in ignored} == {
        k: v for k, v in recipe.items() if k not in ignored
    }, "the recipe changed since its preset was trained: make presets"
    assert preset.card["recipe"] == preset.config["name"]
    model = preset.model()  # safe_mode, sha256-checked
    report = evaluate(model, evaluators(preset.dataset), CHECK_SAMPLES, CHECK_SEED,
                      consistency_per_code=CHECK_PER_CODE)  # fmt: skip
    card = preset.card["check"]
    got, want = report["samples"], card["samples"]
    for key in ("frechet_distance", "kid"):
        assert got[key] == pytest.approx(want[key], rel=RELATIVE), key
    for key in ("precision", "recall", "label_accuracy"):
        if key in want:
            assert got[key] == pytest.approx(want[key], abs=SHARE), key
    assert abs(got["classes_covered"] - want["classes_covered"]) <= 1
    if "code_consistency" in card:
        assert report["code_consistency"]["mean_consistency"] == pytest.approx(
            card["code_consistency"]["mean_consistency"], abs=SHARE
        )


CONDITIONAL = sorted(name for name in SHIPPED if recipes.RECIPES[name].variant in ("cgan", "acgan"))


@pytest.mark.parametrize("name", CONDITIONAL)
def test_a_class_asked_for_by_name_is_the_class_the_classifier_sees(name):
    """Every class, asked for by its dataset's name: G receives that label, and the preset's
    classifier agrees with it as often as the card's label accuracy says (500 samples)."""
    preset = presets.locate(name)
    model = preset.model()
    names = model.input_fields["class_names"]
    assert names is not None and len(names) == model.num_classes
    per_class = 500 // model.num_classes
    agree = []
    classifier = DomainClassifier.shipped(preset.dataset)
    for k, class_name in enumerate(names):
        drawn = model.sample_inputs(per_class, seed=k, label=class_name.upper())
        np.testing.assert_array_equal(drawn["label"], k)
        _, logits = classifier(model.generate(per_class, inputs=drawn))
        agree.append(np.argmax(logits, axis=1) == k)
    accuracy = float(np.mean(agree))
    assert accuracy == pytest.approx(preset.card["eval"]["samples"]["label_accuracy"], abs=0.05)


# Every preset's ONNX export is checked against Keras where the gallery is built
# (tests/export/test_gallery.py); the full export (SavedModel, LiteRT, the refinement graph)
# here for one preset of each dataset (tests/export covers every variant's networks).
FULL_EXPORT = ["dcgan-fashion-mnist", "dcgan-noto-emoji"]


@pytest.mark.parametrize("name", FULL_EXPORT)
def test_preset_exports_with_parity(name, tmp_path):
    manifest = artifacts.export_trained(name, tmp_path / "export")
    assert manifest["variant"] == recipes.RECIPES[name].variant
    for network in ("generator", "discriminator", "judge", "refine"):
        diffs = manifest["parity"][network]
        tolerance = artifacts.PARITY_TOLERANCE * manifest["parity"]["output_scale"][network]
        assert diffs and max(diffs.values()) <= tolerance, (network, diffs)


@pytest.fixture(scope="module")
def real_batches(fashion_mnist_dir, noto_emoji_dir):
    """Per dataset, up to 1,024 real test images and labels: three steps of any recipe."""
    return {
        dataset: [(x.numpy(), y.numpy()) for x, y in data.load(dataset, "test", 128, shuffle=False).take(8)]
        for dataset in DATASETS
    }


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_preset_fine_tunes(name, real_batches):
    """What `ganzoo train RECIPE --from-preset PRESET` does (tests/recipes/test_cli.py runs
    that command): the recipe's model, the preset's weights, a few steps of fit."""
    preset = presets.locate(name)
    recipe = recipes.RECIPES[name]
    model = build_model(recipe, data.source_of(recipe).spec)
    preset.load_weights_into(model)
    start = preset.model()
    np.testing.assert_array_equal(model.generate(8, seed=5), start.generate(8, seed=5))
    per_step = recipe.batch_size * model.d_steps
    batches = real_batches[recipe.dataset]
    images = np.concatenate([x for x, _ in batches])[: 3 * per_step]
    labels = np.concatenate([y for _, y in batches])[: 3 * per_step]
    model.fit(images, labels, batch_size=per_step, epochs=1, verbose=0)
    assert int(model.g_optimizer.iterations.numpy()) == 3
    # Three Adam steps move G's parameters off the preset by about 3 learning rates at most:
    # it started from the preset's weights (a fresh start would be far from them).
    pairs = zip(model.generator.trainable_weights, start.generator.trainable_weights, strict=True)
    moved = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in pairs)
    assert 0 < moved < 10 * recipe.g_lr
