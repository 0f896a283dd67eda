"""Adversarial losses as pure functions of discriminator logits.

Every function returns per-example losses of shape `(B,)`; the caller reduces them
(`tf.nn.compute_average_loss` in the training step), so the same function is correct
on one replica or many. Logits, never probabilities: `softplus` keeps the log terms
stable where `log(sigmoid(x))` would underflow.
"""

from collections.abc import Callable

import tensorflow as tf

LossFn = Callable[..., tf.Tensor]


def _flat(logits: tf.Tensor) -> tf.Tensor:
    # (B, ...) -> (B,): one logit per example
    logits = tf.convert_to_tensor(logits)
    return tf.reshape(tf.cast(logits, tf.float32), [tf.shape(logits)[0]])


def _check_smoothing(smoothing: float) -> None:
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1). Received: smoothing={smoothing}")


def minimax_discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, smoothing: float = 0.0
) -> tf.Tensor:
    """-log D(x) - log(1 - D(G(z))) (Goodfellow et al. 2014, eq. 1).

    One-sided label smoothing (Salimans et al. 2016) sets the real target to
    `1 - smoothing` and leaves the fake target at 0.
    """
    _check_smoothing(smoothing)
    real, fake = _flat(real_logits), _flat(fake_logits)
    target = 1.0 - smoothing
    # Binary cross-entropy on logits: t * softplus(-x) + (1 - t) * softplus(x).
    real_loss = target * tf.nn.softplus(-real) + (1.0 - target) * tf.nn.softplus(real)
    return real_loss + tf.nn.softplus(fake)


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """log(1 - D(G(z))): the saturating generator loss of Goodfellow et al. 2014."""
    return -tf.nn.softplus(_flat(fake_logits))


def non_saturating_discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, smoothing: float = 0.0
) -> tf.Tensor:
    """Same as the minimax discriminator loss; only the generator's side differs."""
    return minimax_discriminator_loss(real_logits, fake_logits, smoothing)


def non_saturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """-log D(G(z)): strong gradients early in training (Goodfellow et al. 2014, sec. 3)."""
    return tf.nn.softplus(-_flat(fake_logits))


def least_squares_discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, smoothing: float = 0.0
) -> tf.Tensor:
    """((D(x) - b)^2 + D(G(z))^2) / 2 with b = 1 - smoothing (Mao et al. 2017, eq. 2)."""
    _check_smoothing(smoothing)
    real, fake = _flat(real_logits), _flat(fake_logits)
    return 0.5 * (tf.square(real - (1.0 - smoothing)) + tf.square(fake))


def least_squares_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """(D(G(z)) - 1)^2 / 2 (Mao et al. 2017, eq. 2 with c = 1)."""
    return 0.5 * tf.square(_flat(fake_logits) - 1.0)


def wasserstein_discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, smoothing: float = 0.0
) -> tf.Tensor:
    """D(G(z)) - D(x): the critic's side of the Kantorovich dual (Arjovsky et al. 2017)."""
    if smoothing:
        raise ValueError("smoothing has no meaning for the wasserstein loss.")
    return _flat(fake_logits) - _flat(real_logits)


def wasserstein_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """-D(G(z)) (Arjovsky et al. 2017)."""
    return -_flat(fake_logits)


def hinge_discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, smoothing: float = 0.0
) -> tf.Tensor:
    """relu(1 - D(x)) + relu(1 + D(G(z))) (Lim & Ye 2017; Miyato et al. 2018)."""
    if smoothing:
        raise ValueError("smoothing has no meaning for the hinge loss.")
    return tf.nn.relu(1.0 - _flat(real_logits)) + tf.nn.relu(1.0 + _flat(fake_logits))


def hinge_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """-D(G(z)) (Miyato et al. 2018)."""
    return -_flat(fake_logits)


# name -> (generator loss, discriminator loss)
LOSSES: dict[str, tuple[LossFn, LossFn]] = {
    "minimax": (minimax_generator_loss, minimax_discriminator_loss),
    "non_saturating": (non_saturating_generator_loss, non_saturating_discriminator_loss),
    "least_squares": (least_squares_generator_loss, least_squares_discriminator_loss),
    "wasserstein": (wasserstein_generator_loss, wasserstein_discriminator_loss),
    "hinge": (hinge_generator_loss, hinge_discriminator_loss),
}


def get(name: str) -> tuple[LossFn, LossFn]:
    """Returns `(generator_loss, discriminator_loss)` registered under `name`."""
    if name not in LOSSES:
        raise ValueError(f"Unknown loss. Expected one of {sorted(LOSSES)}. Received: loss={name!r}")
    return LOSSES[name]
