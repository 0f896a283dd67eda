"""The R1 penalty (Mescheder et al. 2018): gamma / 2 * ||grad D(x)||^2 on real data, which
keeps D flat where the data is and makes the game converge locally."""

import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register


def squared_gradient_norm(critic, images: tf.Tensor) -> tf.Tensor:
    """||grad critic(x)||^2 per example, (B,)."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = critic(images)
    grads = tape.gradient(scores, images)
    return tf.reduce_sum(tf.square(tf.reshape(grads, [tf.shape(grads)[0], -1])), axis=1)


@register
class R1(Trick):
    settings = (Setting("r1_gamma", float, 0.0, "gamma of the R1 penalty on real data; 0 is off"),)

    def d_penalty(self, model, real, fake, labels):
        critic = lambda x: model.discriminate(x, labels, training=True)[0]  # noqa: E731
        return 0.5 * self.r1_gamma * squared_gradient_norm(critic, real)
