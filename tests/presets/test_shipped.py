"""The presets that ship: one per tuned Fashion-MNIST recipe, each loading safely, reproducing
its card, exporting with parity and fine-tuning."""

import dataclasses

import numpy as np
import pytest

import recipes
from export import artifacts
from recipes.presets import CHECK_PER_CODE, CHECK_SAMPLES, CHECK_SEED
from recipes.training import _RESUMABLE_CHANGES
from zoo import presets
from zoo.metrics.evaluate import Evaluator, evaluate
from zoo.metrics.features import DomainClassifier

SHIPPED = presets.shipped()
TUNED = sorted(
    name for name, r in recipes.RECIPES.items() if r.dataset == "fashion_mnist" and "-paper" not in name
)
BUDGET_BYTES = 30_000_000

# Same weights and seeds give the same numbers; what may differ on another CPU is float
# rounding in the convolutions (oneDNN picks kernels by instruction set), which moves the
# Frechet distance and KID by far less than 1% and a share of 500 samples by at most a few.
RELATIVE, SHARE = 0.01, 0.01


def test_every_tuned_fashion_mnist_recipe_ships_a_preset():
    assert sorted(SHIPPED) == TUNED


def test_all_presets_together_stay_within_the_size_budget():
    total = sum(p.stat().st_size for folder in SHIPPED.values() for p in folder.rglob("*") if p.is_file())
    assert 0 < total < BUDGET_BYTES


@pytest.fixture(scope="module")
def evaluator(fashion_mnist_dir):
    extractor = DomainClassifier.shipped("fashion_mnist")
    return Evaluator("fashion_mnist", extractor, prior=extractor.info.get("class_prior"))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_preset_is_its_recipe_and_reproduces_its_card(name, evaluator):
    preset = presets.locate(name)
    recipe = recipes.RECIPES[name].to_dict()
    assert {k: v for k, v in preset.config.items() if k not in _RESUMABLE_CHANGES} == {
        k: v for k, v in recipe.items() if k not in _RESUMABLE_CHANGES
    }, "the recipe changed since its preset was trained: make presets"
    model = preset.model()  # safe_mode, sha256-checked
    report = evaluate(model, evaluator, CHECK_SAMPLES, CHECK_SEED, consistency_per_code=CHECK_PER_CODE)
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


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_preset_exports_with_parity(name, tmp_path):
    manifest = artifacts.export_trained(name, tmp_path / "export")
    assert manifest["variant"] == recipes.RECIPES[name].variant
    for network in ("generator", "discriminator", "judge"):
        diffs = manifest["parity"][network]
        assert diffs and max(diffs.values()) <= artifacts.PARITY_TOLERANCE, (network, diffs)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_preset_fine_tunes(name, fashion_mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    preset = presets.locate(name)
    start = preset.model()
    recipe = dataclasses.replace(recipes.RECIPES[name], epochs=1, steps_per_epoch=3, judge="none")
    summary = recipes.run(recipe, tmp_path, export=False, verbose=0, init_from=preset)
    assert summary["generator_steps"] == 3 and summary["from_preset"] == str(preset.path)
    tuned = presets.locate(tmp_path).model()
    # Three Adam steps move G's parameters off the preset by about 3 learning rates at most:
    # it started from the preset's weights (a fresh start would be far from them).
    pairs = zip(tuned.generator.trainable_weights, start.generator.trainable_weights, strict=True)
    moved = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in pairs)
    assert 0 < moved < 10 * recipe.g_lr
    samples, before = tuned.generate(64, seed=5), start.generate(64, seed=5)
    assert np.abs(samples - before).mean() < 0.2
