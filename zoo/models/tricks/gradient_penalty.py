"""The WGAN-GP gradient penalty (Gulrajani et al. 2017): lambda * (||grad D(x_hat)|| - 1)^2 at
random points x_hat between real and fake images, a soft Lipschitz constraint."""

import keras
import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register


def gradient_penalty(critic, real: tf.Tensor, fake: tf.Tensor, epsilon: tf.Tensor) -> tf.Tensor:
    """(||grad D(x_hat)||_2 - 1)^2 per example at x_hat = eps * x + (1 - eps) * G(z);
    `epsilon` is (B, 1, 1, 1), uniform in [0, 1]."""
    x_hat = epsilon * real + (1.0 - epsilon) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat)
    grads = tape.gradient(scores, x_hat)
    squared = tf.reduce_sum(tf.square(tf.reshape(grads, [tf.shape(grads)[0], -1])), axis=1)
    return tf.square(tf.sqrt(squared + 1e-12) - 1.0)  # 1e-12: sqrt has no gradient at 0


@register
class GradientPenalty(Trick):
    settings = (Setting("gradient_penalty", float, 0.0, "WGAN-GP lambda; 0 is off", recipe_default=None),)

    def d_penalty(self, model, real, fake, labels):
        epsilon = model.replica_slice(
            lambda n: keras.random.uniform([n, 1, 1, 1], 0.0, 1.0, seed=model.seed_generator),
            tf.shape(real)[0],
        )
        critic = lambda x: model.discriminate(x, labels, training=True)[0]  # noqa: E731
        return self.gradient_penalty * gradient_penalty(critic, real, fake, epsilon)
