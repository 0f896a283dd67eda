"""Refinement moves z uphill on the judge's calibrated logit, by Langevin steps that keep
labels and codes, and stays near the prior."""

import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from zoo import contract
from zoo.errors import ZooError
from zoo.evaluation.judge import Judge
from zoo.evaluation.refine import Refinement, energy_gradient, refine_inputs


@pytest.fixture(scope="module")
def judged():
    model = helpers.fit_briefly(helpers.tiny("cgan"), steps=3)
    real = helpers.structured_images(300, seed=3, labels=np.arange(300) % helpers.NUM_CLASSES)
    judge = Judge.train_critic(model, real[:150], epochs=2)
    judge.calibrate(real[150:], model.generate(150, seed=4))
    return model, judge


def test_the_energy_gradient_is_that_of_the_prior_minus_the_calibrated_logit(judged):
    model, judge = judged
    inputs = model.sample_inputs(4, seed=1)
    out = energy_gradient(model, judge)(inputs)
    grad, logit = out["gradient"], out["logit"]
    images = model.generate(4, inputs=inputs)
    np.testing.assert_allclose(logit.numpy(), judge.calibrated_logits(images), rtol=1e-4, atol=1e-4)
    # TensorFlow's own gradient of the same energy, taken eagerly.
    z = tf.constant(inputs["z"])
    with tf.GradientTape() as tape:
        tape.watch(z)
        logit = tf.reshape(judge.scorer(model.sampling_generator([z, tf.constant(inputs["label"])])), [-1])
        energy = tf.reduce_sum(0.5 * tf.reduce_sum(z * z, axis=1) - (logit / judge.temperature + judge.bias))
    np.testing.assert_allclose(grad.numpy(), tape.gradient(energy, z).numpy(), rtol=1e-4, atol=1e-5)
    # And the energy's slope along the gradient, by central differences.
    def energy_at(z):
        out = model.generate(4, inputs={**inputs, "z": z.astype(np.float32)})
        return 0.5 * np.sum(z.astype(np.float64) ** 2, axis=1) - judge.calibrated_logits(out)

    direction = grad.numpy() / np.linalg.norm(grad.numpy(), axis=1, keepdims=True)
    slope = (energy_at(inputs["z"] + 1e-3 * direction) - energy_at(inputs["z"] - 1e-3 * direction)) / 2e-3
    np.testing.assert_allclose(slope, np.linalg.norm(grad.numpy(), axis=1), rtol=0.05)


def test_a_langevin_step_is_the_update_its_docstring_gives(judged):
    model, judge = judged
    inputs = model.sample_inputs(6, seed=2)
    step = Refinement(steps=1, step_size=0.04, noise=0.5, bound=10.0)
    out = refine_inputs(model, judge, inputs, step, seed=7)
    grad = energy_gradient(model, judge)(inputs)["gradient"]
    eta = contract.refine_rng(7).standard_normal(inputs["z"].shape)
    expected = inputs["z"] - 0.02 * grad.numpy() + 0.5 * np.sqrt(0.04) * eta
    np.testing.assert_allclose(out["z"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["label"], inputs["label"])  # the class stays


def test_descent_lowers_the_energy_and_z_stays_bounded(judged):
    model, judge = judged
    inputs = model.sample_inputs(64, seed=3)

    def energy(drawn):  # ||z||^2 / 2 minus the judge's calibrated logit
        logit = judge.calibrated_logits(model.generate(64, inputs=drawn))
        return 0.5 * np.sum(drawn["z"].astype(np.float64) ** 2, axis=1) - logit

    out = refine_inputs(model, judge, inputs, Refinement(steps=10, step_size=0.05, noise=0.0, bound=2.0))
    assert energy(out).mean() < energy(inputs).mean() and np.abs(out["z"]).max() <= 2.0
    # Refine, then judge:
    images, rate = judge.filter(model, 16, seed=1, rule="drs", refinement=Refinement(steps=2))
    assert images.shape == (16, 28, 28, 1) and 0 < rate <= 1
    with pytest.raises(ZooError, match="drop --refine"):
        judge.filter(model, 4, rule="mh", refinement=Refinement(steps=2))
    with pytest.raises(ZooError, match="refinement needs"):
        Refinement(steps=-1)


def test_ganzoo_sample_refines_a_presets_samples(tmp_path, capsys):
    from recipes.cli import main

    plain, refined = tmp_path / "plain.npy", tmp_path / "refined.npy"
    assert main(["sample", "dcgan-fashion-mnist", "--n", "8", "--out", str(plain)]) == 0
    assert main(["sample", "dcgan-fashion-mnist", "--n", "8", "--refine", "3", "--out", str(refined)]) == 0
    a, b = np.load(plain), np.load(refined)
    assert a.shape == b.shape == (8, 28, 28, 1) and 0 < np.abs(a - b).mean() < 0.5  # moved, not replaced
    assert main(["sample", "dcgan-fashion-mnist", "--n", "8", "--refine", "-1", "--out", str(refined)]) == 2
    assert "refinement needs steps >= 0" in capsys.readouterr().err
