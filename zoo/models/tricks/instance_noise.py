"""Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise on D's
inputs, real and fake, in training, so their distributions overlap; annealed to zero."""

import keras
import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register


@register
class InstanceNoise(Trick):
    settings = (
        Setting("instance_noise", float, 0.0, "stddev of Gaussian noise on D's inputs; 0 is off"),
        Setting(
            "instance_noise_decay_steps", int, 0, "anneal it linearly to 0 over this many G steps; 0 keeps it"
        ),
    )

    def augment(self, model, images):
        stddev = tf.constant(self.instance_noise, images.dtype)
        if self.instance_noise_decay_steps:
            done = tf.cast(model.g_optimizer.iterations, images.dtype) / self.instance_noise_decay_steps
            stddev = stddev * tf.maximum(0.0, 1.0 - done)
        return images + stddev * keras.random.normal(
            tf.shape(images), seed=model.seed_generator, dtype=images.dtype
        )
