"""Files written before the layout change (tests/fixtures/before_layout, made by the code at
commit 4245535) still load and give the same outputs."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo
from zoo import contract

FIXTURES = Path(__file__).parent / "fixtures" / "before_layout"


@pytest.mark.parametrize("name", ["dcgan", "wgan-gp"])
def test_old_keras_files_load_with_their_tricks_and_sample_the_same(name):
    model = keras.models.load_model(FIXTURES / f"{name}.keras", safe_mode=True)
    assert isinstance(model, zoo.AdversarialModel)
    expected = np.load(FIXTURES / f"{name}.samples.npy")
    np.testing.assert_allclose(model.generate(4, seed=3), expected, atol=1e-6)
    if name == "dcgan":  # its stateful tricks' state came back: EMA copy, history, count
        assert model.ema_decay == 0.9 and int(model.history_count.numpy()) == 3
        assert model.label_smoothing == 0.1
    else:
        assert model.r1_gamma == 1.0 and model.diff_augment == "translation"
        assert model.instance_noise == 0.1 and model.instance_noise_decay_steps == 10


@pytest.mark.parametrize("name", ["dcgan", "cgan", "infogan"])
def test_old_export_manifests_read_and_draw_the_same_inputs(name):
    manifest = contract.check_manifest(json.loads((FIXTURES / f"{name}.manifest.json").read_text()))
    expected = np.load(FIXTURES / f"{name}.inputs.npz")
    drawn = contract.sample_inputs(manifest, 6, seed=2)
    assert drawn.keys() == set(expected.files)
    for key in expected.files:
        np.testing.assert_array_equal(drawn[key], expected[key])
        assert drawn[key].dtype == expected[key].dtype
    if name == "cgan":
        fixed = np.load(FIXTURES / "cgan.inputs_label.npz")
        drawn = contract.sample_inputs(manifest, 6, seed=2, label=3)
        np.testing.assert_array_equal(drawn["label"], fixed["label"])
