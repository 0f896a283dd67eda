import json

import numpy as np
import pytest

from tests import helpers
from zoo import contract
from zoo.errors import ZooError
from zoo.evaluation import judge as judge_lib
from zoo.evaluation.judge import Judge


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


def test_a_perfect_separation_keeps_a_finite_temperature():
    """Platt's targets: 100 real images all above 100 generated ones still give P(real) inside
    (0, 1), at about Platt's targets for the extreme scores, not T -> 0."""
    logits = np.concatenate([np.linspace(1, 3, 100), np.linspace(-3, -1, 100)])
    is_real = np.arange(200) < 100
    temperature, bias = judge_lib.fit_calibration(logits, is_real)
    p = contract.sigmoid(logits / temperature + bias)
    assert temperature > 0.05 and p[:100].min() > 0.9 and p[:100].max() < 1 - 1e-6
    assert p[100:].min() > 1e-6 and p[100:].max() < 0.1


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
    p_real, logit = (x.numpy().ravel() for x in judge.as_model()(images))
    np.testing.assert_allclose(p_real, judge.scores(images), atol=1e-6)
    np.testing.assert_allclose(logit, judge.calibrated_logits(images), atol=1e-5)
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


def _classed_judge(model, n=600, num_classes=3):
    """A judge calibrated with classes: real images of class i % 3, samples of class i % 3."""
    real, fake = helpers.structured_images(n, seed=21), model.generate(n, seed=22)
    classes = np.arange(n) % num_classes
    judge = Judge.from_discriminator(model)
    return judge.calibrate(real, fake, 0.9, classes, classes, num_classes, "label"), real, fake, classes


def test_rules_are_fitted_on_half_the_held_out_data_and_measured_on_the_other(trained_dcgan):
    judge, real, fake, classes = _classed_judge(trained_dcgan)
    assert set(judge.rules) == set(judge_lib.RULES) and judge.rule == judge_lib.DEFAULT_RULE
    p_real, p_fake = judge.scores(real), judge.scores(fake)
    # real-quantile: its threshold is the 10% quantile of the fitting half's real P(real).
    assert judge.rules["real-quantile"]["threshold"] == pytest.approx(np.quantile(p_real[0::2], 0.1))
    # class-share: per class, the 30% quantile of the fitting half's samples of that class.
    for c, threshold in enumerate(judge.rules["class-share"]["thresholds"]):
        in_c = p_fake[0::2][classes[0::2] == c]
        assert threshold == pytest.approx(np.quantile(in_c, judge_lib.CLASS_SHARE_REJECTED))
    # The card's acceptance is measured on the other half, as accept() decides it.
    for rule in ("real-quantile", "class-share", "class-real-quantile", "precision"):
        want = judge.accept(fake[1::2], classes[1::2], rule).mean()
        assert judge.info["acceptance"][rule]["generated"] == pytest.approx(want)
    share = judge.accept(fake, classes, "class-share")
    for c in range(3):  # each class keeps about 70% of its samples: the proportions hold
        assert 0.55 < share[classes == c].mean() < 0.85


def test_class_rules_follow_the_class_not_the_pooled_scores(trained_dcgan):
    judge, _, fake, classes = _classed_judge(trained_dcgan)
    judge.info["rules"]["class-share"]["thresholds"] = [0.0, 0.0, 2.0]  # class 2 never passes
    kept = judge.accept(fake, classes, "class-share")
    assert kept[classes != 2].all() and not kept[classes == 2].any()
    with pytest.raises(ZooError, match="need each image's label"):
        judge.accept(fake, None, "class-share")


def test_drs_keeps_with_probability_sigmoid_f():

    # F = d - log(1 - exp(d - eps)) - gamma with d = l - l_max; at l = l_max, F is large: kept.
    f = contract.drs_f(np.array([-5.0, -1.0, 0.0, 3.0]), max_logit=0.0, gamma=0.0)
    assert np.all(np.diff(f[:3]) > 0) and f[2] > 10 and f[3] == f[2]  # monotone, capped at l_max
    assert f[0] == pytest.approx(-5 - np.log1p(-np.exp(-5 - 1e-6)))
    card = {"rules": {"drs": {"max_logit": 0.0, "gamma": 0.0}}}
    kept = contract.accepted(np.full(20_000, -1.0), None, card, "drs", np.random.default_rng(0))
    assert kept.mean() == pytest.approx(1 / (1 + np.exp(-contract.drs_f(-1.0, 0.0, 0.0))), abs=0.01)


def test_a_judge_saved_with_rules_loads_them(trained_dcgan, tmp_path):
    judge, _, fake, classes = _classed_judge(trained_dcgan)
    judge.save(tmp_path)
    loaded = Judge.load(tmp_path)
    assert loaded.rules == judge.rules and loaded.rule == judge.rule and loaded.classes_from == "label"
    for rule in set(judge_lib.RULES) - set(contract.CHAIN_RULES):  # mh accepts no single image
        rng = [np.random.default_rng(3) for _ in range(2)]
        np.testing.assert_array_equal(loaded.accept(fake, classes, rule, rng[0]),
                                      judge.accept(fake, classes, rule, rng[1]))  # fmt: skip


def test_a_class_rule_without_classes_is_refused(trained_dcgan):
    real, fake = helpers.structured_images(100, seed=30), trained_dcgan.generate(100, seed=31)
    judge = Judge.from_discriminator(trained_dcgan).calibrate(real, fake)
    assert judge.rule == "real-quantile" and "class-share" not in judge.rules  # no classes given
    with pytest.raises(ZooError, match="needs each image's class"):
        Judge.from_discriminator(trained_dcgan).calibrate(real, fake, rule="class-share")


class _Uniforms:
    """A stand-in for numpy's Generator that hands out fixed uniforms."""

    def __init__(self, values):
        self.values = np.asarray(values, np.float64)

    def uniform(self, size):
        return self.values.reshape(size)


def test_mh_moves_with_the_odds_ratio_computed_by_hand():
    # Chain: l = [0, 1, -1, 2], u = [-, 0.5, 0.5, 0.5]. Move to 1: u < min(1, e^(1-0)) = 1, yes.
    # Move to 2: u = 0.5 < e^(-1-1) = 0.135? no. Move to 3: u < min(1, e^(2-1)) = 1, yes.
    state, moves = contract.mh_chains([[0.0, 1.0, -1.0, 2.0]], _Uniforms([[0.0, 0.5, 0.5, 0.5]]))
    assert state.tolist() == [3] and moves == pytest.approx(2 / 3)
    # The acceptance ratio itself: from l = 0 to l' = -1, accepted iff u < e^-1 = 0.3679.
    assert contract.mh_chains([[0.0, -1.0]], _Uniforms([[0.0, 0.3678]]))[0].tolist() == [1]
    assert contract.mh_chains([[0.0, -1.0]], _Uniforms([[0.0, 0.3680]]))[0].tolist() == [0]


def test_mh_with_a_perfect_discriminator_samples_the_data_distribution():
    # G proposes A and B half the time each; the data has 80% A. A perfect, calibrated D has
    # odds p_data / p_G: logit log(0.8 / 0.5) for A, log(0.2 / 0.5) for B.
    rng = np.random.default_rng(0)
    kinds = rng.integers(0, 2, size=(20_000, 20))  # 1 is A
    logits = np.where(kinds == 1, np.log(0.8 / 0.5), np.log(0.2 / 0.5))
    state, _ = contract.mh_chains(logits, np.random.default_rng(1))
    assert kinds[np.arange(20_000), state].mean() == pytest.approx(0.8, abs=0.01)
    assert kinds[:, 0].mean() == pytest.approx(0.5, abs=0.01)  # what plain sampling gives


def test_mh_is_a_rule_of_a_fitted_judge_and_samples_through_it():
    model = helpers.fit_briefly(helpers.tiny("dcgan"))
    real = helpers.structured_images(400, seed=3)
    judge = Judge.from_discriminator(model)
    judge.calibrate(real, model.generate(400, seed=4))
    assert judge.rules["mh"] == {"chain_length": judge_lib.MH_CHAIN_LENGTH}
    assert 0 < judge.info["acceptance"]["mh"]["moves"] < 1
    images, rate = judge.filter(model, 12, seed=5, rule="mh")
    assert images.shape == (12, 28, 28, 1) and rate == pytest.approx(0.1)
    proposals = model.generate(120, inputs=contract.chain_inputs(model.input_fields, 12, 10, seed=5))
    chosen = [np.flatnonzero(np.isclose(proposals, image, atol=1e-6).all(axis=(1, 2, 3))) for image in images]
    assert all(len(c) and (c[0] // 10 == i) for i, c in enumerate(chosen))  # chain i's own proposal
    with pytest.raises(ZooError, match="chooses among proposals"):
        judge.accept(images, rule="mh")


def test_auc_is_the_chance_a_real_image_outscores_a_generated_one():
    assert judge_lib.auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert judge_lib.auc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    # real 2 beats fake 1 and ties fake 2 (half), real 0 beats neither: (1 + 0.5 + 0) / 4.
    assert judge_lib.auc(np.array([2.0, 0.0]), np.array([1.0, 2.0])) == pytest.approx(1.5 / 4)


def test_each_scorer_gets_the_default_way_measured_best_for_it():
    """docs/judge.md: DRS after 20 refinement steps for a critic, class-share for the trained D
    and for any judge of a conditional GAN (classes from labels); real-quantile where a class
    rule has no classes."""
    from zoo.evaluation.judge import DEFAULT_REFINEMENT, Judge, critic_network

    critic = Judge(critic_network((28, 28, 1), 4), info={"source": "critic"})
    d = Judge(critic_network((28, 28, 1), 4), info={"source": "discriminator"})
    assert [critic.default_rule(c) for c in ("classifier", "label", None)] == ["drs", "class-share", "drs"]
    assert [d.default_rule(c) for c in ("classifier", "label", None)] == ["class-share", "class-share",
                                                                          "real-quantile"]  # fmt: skip
    assert DEFAULT_REFINEMENT["critic"]["steps"] == 20 and "discriminator" not in DEFAULT_REFINEMENT
    assert critic.default_refinement is None  # until fit_judge gives it the card's refinement
    critic.info["refinement"] = DEFAULT_REFINEMENT["critic"]
    assert critic.default_refinement.steps == 20 and critic.default_refinement.step_size == 0.01
