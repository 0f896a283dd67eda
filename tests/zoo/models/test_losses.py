import numpy as np
import pytest
import tensorflow as tf

from zoo.models import losses

REAL = np.array([0.0, 2.0], np.float32)
FAKE = np.array([0.0, -1.0], np.float32)
LN2 = np.log(2.0)

# Golden values computed by hand from the papers' formulas at REAL, FAKE.
GOLDEN = {
    # -log s(r) - log(1 - s(f)) = softplus(-r) + softplus(f)
    "minimax": {"d": [2 * LN2, np.log1p(np.exp(-2)) + np.log1p(np.exp(-1))],
                "g": [-LN2, -np.log1p(np.exp(-1))]},
    "non_saturating": {"d": [2 * LN2, np.log1p(np.exp(-2)) + np.log1p(np.exp(-1))],
                       "g": [LN2, np.log1p(np.exp(1))]},
    "least_squares": {"d": [0.5, 1.0], "g": [0.5, 2.0]},
    "wasserstein": {"d": [0.0, -3.0], "g": [0.0, 1.0]},
    "hinge": {"d": [2.0, 0.0], "g": [0.0, 1.0]},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_golden_values(name):
    g_loss, d_loss = losses.get(name)
    np.testing.assert_allclose(d_loss(REAL, FAKE).numpy(), GOLDEN[name]["d"], rtol=1e-6)
    np.testing.assert_allclose(g_loss(FAKE).numpy(), GOLDEN[name]["g"], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_per_example_shape_and_finite_at_extreme_logits(name):
    g_loss, d_loss = losses.get(name)
    logits = tf.constant([[-100.0], [0.0], [100.0]])  # (B, 1) as D returns them
    assert d_loss(logits, logits).shape == (3,)
    assert g_loss(logits).shape == (3,)
    assert np.all(np.isfinite(d_loss(logits, logits).numpy()))
    assert np.all(np.isfinite(g_loss(logits).numpy()))


def test_one_sided_label_smoothing_sets_real_target_only():
    # Real target 0.9: 0.9 * softplus(-r) + 0.1 * softplus(r); the fake term is unchanged.
    smoothed = losses.minimax_discriminator_loss(REAL, FAKE, smoothing=0.1).numpy()
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    expected = 0.9 * softplus(-REAL) + 0.1 * softplus(REAL) + softplus(FAKE)
    np.testing.assert_allclose(smoothed, expected, rtol=1e-6)
    # A confident real logit now costs more; at r = 0 the target does not matter.
    plain = losses.minimax_discriminator_loss(REAL, FAKE).numpy()
    assert smoothed[1] > plain[1]
    np.testing.assert_allclose(smoothed[0], plain[0], rtol=1e-6)
    # A confident real logit r now costs ~0.1 * r, while fakes keep target 0 (softplus(f)).
    r, f = np.array([50.0], np.float32), np.array([0.3], np.float32)
    confident = losses.minimax_discriminator_loss(r, f, smoothing=0.1).numpy()
    np.testing.assert_allclose(confident, softplus(f) + 0.1 * 50.0, rtol=1e-5)


def test_least_squares_smoothing_moves_real_target():
    np.testing.assert_allclose(
        losses.least_squares_discriminator_loss([0.9], [0.0], smoothing=0.1).numpy(),
        [0.0],
        atol=1e-7,
    )


def test_minimax_generator_saturates_where_non_saturating_does_not():
    # When D confidently rejects fakes (very negative logit), log(1 - D(G(z))) has almost no
    # gradient; -log D(G(z)) still has gradient ~ -1 (Goodfellow et al. 2014, sec. 3).
    f = tf.Variable([-10.0])
    with tf.GradientTape(persistent=True) as tape:
        mm = losses.minimax_generator_loss(f)
        ns = losses.non_saturating_generator_loss(f)
    assert abs(float(tape.gradient(mm, f)[0])) < 1e-4
    assert float(tape.gradient(ns, f)[0]) == pytest.approx(-1.0, abs=1e-4)


@pytest.mark.parametrize("name", ["wasserstein", "hinge"])
def test_smoothing_rejected_where_meaningless(name):
    with pytest.raises(ValueError, match="smoothing"):
        losses.get(name)[1](REAL, FAKE, smoothing=0.1)


def test_bad_smoothing_and_unknown_loss():
    with pytest.raises(ValueError, match="smoothing"):
        losses.minimax_discriminator_loss(REAL, FAKE, smoothing=1.0)
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get("nope")
