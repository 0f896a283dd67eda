"""Penalties on the discriminator's gradients and on parameter drift.

Each per-example penalty returns shape (B,), so the training step averages it over the
global batch like the losses.
"""

from collections.abc import Callable

import tensorflow as tf

Critic = Callable[[tf.Tensor], tf.Tensor]  # images -> logits (B, 1)


def _per_example_sq_norm(grads: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.square(tf.reshape(grads, [tf.shape(grads)[0], -1])), axis=1)


def gradient_penalty(critic: Critic, real: tf.Tensor, fake: tf.Tensor, epsilon: tf.Tensor) -> tf.Tensor:
    """(||grad D(x_hat)||_2 - 1)^2 at x_hat = eps * x + (1 - eps) * G(z) (Gulrajani et al. 2017).

    `epsilon` is (B, 1, 1, 1), drawn uniformly from [0, 1] per example by the caller.
    """
    x_hat = epsilon * real + (1.0 - epsilon) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat)
    grads = tape.gradient(scores, x_hat)
    norm = tf.sqrt(_per_example_sq_norm(grads) + 1e-12)  # epsilon: sqrt has no gradient at 0
    return tf.square(norm - 1.0)


def r1_penalty(critic: Critic, real: tf.Tensor) -> tf.Tensor:
    """||grad D(x)||^2 on real data (Mescheder et al. 2018); weight it by gamma / 2."""
    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = critic(real)
    return _per_example_sq_norm(tape.gradient(scores, real))


def historical_average_penalty(variables: list[tf.Variable], averages: list[tf.Variable]) -> tf.Tensor:
    """||theta - mean of past theta||^2 summed over parameters (Salimans et al. 2016, sec. 3.3)."""
    return tf.add_n([tf.reduce_sum(tf.square(v - a)) for v, a in zip(variables, averages, strict=True)])


def update_historical_average(
    variables: list[tf.Variable], averages: list[tf.Variable], count: tf.Tensor
) -> None:
    """Running mean: avg += (theta - avg) / count, with count the number of values seen."""
    for v, a in zip(variables, averages, strict=True):
        a.assign_add((v - a) / tf.cast(count, a.dtype))
