"""Files written before the layout change (tests/fixtures/before_layout, made by the code at
commit 4245535) still load and give the same outputs.

Their inputs were drawn with numpy's default generator, which samples no longer use (a seed
now means the same numbers in Python, sample.py and the browser: `zoo.contract.Stream`); the
tests give the old files the inputs they were made with, drawn as the old code drew them."""

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
    old_z = np.random.default_rng(3).standard_normal((4, model.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(model.generate(4, inputs={"z": old_z}), expected, atol=1e-6)
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
        assert drawn[key].shape == expected[key].shape and drawn[key].dtype == expected[key].dtype
    old = np.random.default_rng(2)  # how the old code drew them: z, then each uniform code
    np.testing.assert_array_equal(expected["z"], old.standard_normal(expected["z"].shape).astype(np.float32))
    for key in expected.files:
        if key != "z" and expected[key].dtype == np.float32:
            old_code = old.uniform(-1, 1, expected[key].shape).astype(np.float32)
            np.testing.assert_array_equal(expected[key], old_code)
        elif key != "z":  # labels and categorical codes cycle, now as then
            np.testing.assert_array_equal(drawn[key], expected[key])
    if name == "cgan":
        fixed = np.load(FIXTURES / "cgan.inputs_label.npz")
        drawn = contract.sample_inputs(manifest, 6, seed=2, label=3)
        np.testing.assert_array_equal(drawn["label"], fixed["label"])
