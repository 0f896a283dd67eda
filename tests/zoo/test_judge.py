import json

import numpy as np
import pytest

from tests import helpers
from zoo import judge as judge_lib
from zoo.errors import ZooError
from zoo.judge import Judge


def test_calibration_fit_recovers_a_known_temperature_and_bias():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, 20_000)
    is_real = rng.random(20_000) < 1 / (1 + np.exp(-logits / 2.5))  # truly calibrated at T = 2.5, b = 0
    temperature, bias = judge_lib.fit_calibration(logits, is_real)
    assert temperature == pytest.approx(2.5, rel=0.05) and abs(bias) < 0.05
    # A least-squares critic scores around 0 (fake) and 1 (real): the bias recentres it.
    scores = rng.normal(0.5, 0.4, 20_000)
    is_real = rng.random(20_000) < 1 / (1 + np.exp(-(scores / 0.2 - 2.5)))
    temperature, bias = judge_lib.fit_calibration(scores, is_real)
    assert temperature == pytest.approx(0.2, rel=0.1) and bias == pytest.approx(-2.5, abs=0.15)


def test_expected_calibration_error():
    rng = np.random.default_rng(1)
    p = rng.random(50_000)
    calibrated = rng.random(50_000) < p
    assert judge_lib.expected_calibration_error(p, calibrated) < 0.01
    overconfident = np.where(p > 0.5, 0.99, 0.01)
    assert judge_lib.expected_calibration_error(overconfident, calibrated) > 0.2


def test_threshold_for_precision_by_hand():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    is_real = np.array([1, 1, 0, 1, 0])
    # Accepting the top 1, 2, 3, 4, 5 gives precision 1, 1, 2/3, 3/4, 3/5.
    assert judge_lib.threshold_for_precision(scores, is_real, 0.75) == 0.6
    assert judge_lib.threshold_for_precision(scores, is_real, 1.0) == 0.8
    unreachable = judge_lib.threshold_for_precision(scores, np.zeros(5), 0.5)
    assert unreachable > 1.0 and json.loads(json.dumps(unreachable)) == unreachable  # accepts nothing


@pytest.fixture(scope="module")
def trained_dcgan():
    model = helpers.tiny("dcgan")
    return helpers.fit_briefly(model, steps=10)


def test_calibration_lowers_the_calibration_error_of_the_discriminator(trained_dcgan):
    real = helpers.structured_images(400, seed=5)
    fake = trained_dcgan.generate(400, seed=6)
    judge = Judge.from_discriminator(trained_dcgan).calibrate(real, fake, target_precision=0.9)
    info = judge.info
    assert info["source"] == "discriminator" and info["ece_after"] <= info["ece_before"] + 1e-9
    scores = judge.scores(np.concatenate([real, fake]))
    assert scores.shape == (800,) and np.all((scores >= 0) & (scores <= 1))
    accepted = judge.accept(np.concatenate([real, fake]))
    if accepted.any():  # the chosen threshold meets its precision on the data it was fit on
        assert accepted[:400].sum() / accepted.sum() >= 0.9


def test_critic_judge_tells_real_from_fake(trained_dcgan):
    real = helpers.structured_images(600, seed=7)
    judge = Judge.train_critic(trained_dcgan, real[:300], epochs=3)
    judge.calibrate(real[300:], trained_dcgan.generate(300, seed=9), target_precision=0.9)
    held_out = judge.scores(np.concatenate([helpers.structured_images(200, seed=10),
                                            trained_dcgan.generate(200, seed=11)]))  # fmt: skip
    assert held_out[:200].mean() > held_out[200:].mean() + 0.3


def test_discriminator_needing_labels_cannot_judge_alone():
    with pytest.raises(ZooError, match="critic"):
        Judge.from_discriminator(helpers.tiny("cgan"))


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 28, 28)), "shape"),
        (np.zeros((2, 32, 32, 1), np.float32), "shape"),
        (np.zeros((2, 28, 28, 1), np.uint8), "dtype"),
        (np.full((2, 28, 28, 1), 3.0, np.float32), r"\[-1, 1\]"),
        (np.full((2, 28, 28, 1), np.nan, np.float32), r"\[-1, 1\]"),
    ],
)
def test_bad_images_are_refused(trained_dcgan, images, message):
    with pytest.raises(ZooError, match=message):
        Judge.from_discriminator(trained_dcgan).scores(images)


def test_rejection_sampling_keeps_only_accepted_samples(trained_dcgan):
    judge = Judge.from_discriminator(trained_dcgan)
    judge.threshold = float(np.median(judge.scores(trained_dcgan.generate(500, seed=12))))
    kept, rate = judge.filter(trained_dcgan, 64, seed=13)
    assert kept.shape == (64, 28, 28, 1) and judge.accept(kept).all()
    assert 0.3 < rate < 0.7  # the median threshold accepts about half
    judge.threshold = 2.0  # nothing passes
    with pytest.raises(ZooError, match="accepted 0"):
        judge.filter(trained_dcgan, 8, max_draws=2)


def test_exported_form_folds_the_temperature_and_round_trips(trained_dcgan, tmp_path):
    judge = Judge.from_discriminator(trained_dcgan)
    judge.temperature, judge.threshold, judge.bias = 3.0, 0.4, -0.5
    images = trained_dcgan.generate(16)
    np.testing.assert_allclose(judge.as_model()(images).numpy().ravel(), judge.scores(images), atol=1e-6)
    judge.save(tmp_path)
    loaded = Judge.load(tmp_path)
    assert (loaded.temperature, loaded.threshold, loaded.bias) == (3.0, 0.4, -0.5)
    np.testing.assert_allclose(loaded.scores(images), judge.scores(images), atol=1e-6)


def test_choose_threshold_meets_the_target_on_held_out_data(trained_dcgan):
    judge = Judge.from_discriminator(trained_dcgan)
    real, fake = helpers.structured_images(300, seed=14), trained_dcgan.generate(300, seed=15)
    threshold = judge.choose_threshold(real, fake, target_precision=0.8)
    accepted = judge.accept(np.concatenate([real, fake]))
    assert judge.threshold == threshold
    if accepted.any():
        assert accepted[:300].sum() / accepted.sum() >= 0.8
