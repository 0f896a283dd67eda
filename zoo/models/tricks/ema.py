"""An exponential moving average of G's weights (Yazici et al. 2019), kept beside G and used
for sampling and export: it averages out the last steps' oscillation."""

import keras
import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register


@register
class EMA(Trick):
    settings = (Setting("ema_decay", float, 0.0, "EMA of G's weights for sampling and export; 0 is off"),)

    def check(self):
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1). Received: ema_decay={self.ema_decay!r}")

    def build(self, model):
        model.generator_ema = keras.models.clone_model(model.generator)
        model.generator_ema.set_weights(model.generator.get_weights())
        model.generator_ema.trainable = False

    def after_g_update(self, model):
        # Warm-up as in tf.train.ExponentialMovingAverage: early on, follow G closely.
        step = tf.cast(model.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        # .weights lists variables in creation order, whatever is frozen, so it pairs them.
        for e, w in zip(model.generator_ema.weights, model.generator.weights, strict=True):
            # Trainable weights are averaged; batch-norm statistics and frozen embeddings copied.
            e.assign(decay * e + (1.0 - decay) * w if w.trainable else w)

    def sampler(self, model):
        return model.generator_ema

    def weights_loaded(self, model):
        model.generator_ema.set_weights(model.generator.get_weights())
