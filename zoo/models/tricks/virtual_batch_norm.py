"""Virtual batch normalization (Salimans et al. 2016, sec. 3.5) in G.

Batch normalization makes each generated image depend on the others in its minibatch. VBN
normalizes each example with the statistics of a fixed reference batch (drawn once) joined
with the example itself, so an image depends on its own input alone, in training and at
sampling. At the start of every training step G runs on the reference batch and each VBN
layer keeps that batch's mean and mean square; in the update they are constants (the paper
also differentiates through them, at the price of a second backward pass). A generator kept
for sampling (G's EMA) gets its own statistics after each G update. G's batch-norm
layers become VBN layers; their learned scale and offset carry over.
"""

import keras
import tensorflow as tf

from zoo import contract
from zoo.models.tricks import Setting, Trick, register

REFERENCE_SEED = 12345  # the reference batch is the contract's draw from this seed


@keras.saving.register_keras_serializable(package="zoo")
class VirtualBatchNormalization(keras.layers.Layer):
    """Normalizes each example with mean and variance of (reference batch + itself).

    Per channel: mu = (m_x + R m_ref) / (R + 1) and likewise for the mean square, where m_x
    is the example's own mean over its spatial positions and R the reference batch's size.
    `collect_reference = True` makes the next call store its input's batch statistics as the
    reference.
    """

    def __init__(self, reference_size: int, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.reference_size = int(reference_size)
        self.epsilon = float(epsilon)
        self.collect_reference = False

    def build(self, input_shape):
        shape = (int(input_shape[-1]),)
        self.gamma = self.add_weight(shape=shape, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=shape, initializer="zeros", name="beta")
        # Shared by every replica, which all compute the same values.
        reference = dict(shape=shape, trainable=False, autocast=False, aggregation="only_first_replica")
        self.reference_mean = self.add_weight(initializer="zeros", name="reference_mean", **reference)
        self.reference_mean_square = self.add_weight(initializer="ones", name="reference_mean_square",
                                                     **reference)  # fmt: skip

    def call(self, x, training=None, mask=None):  # BatchNormalization's signature, which it replaces
        x32 = tf.cast(x, tf.float32)
        if self.collect_reference:
            axes = list(range(len(x.shape) - 1))
            self.reference_mean.assign(tf.reduce_mean(x32, axes))
            self.reference_mean_square.assign(tf.reduce_mean(tf.square(x32), axes))
        spatial = list(range(1, len(x.shape) - 1))
        own_mean = tf.reduce_mean(x32, spatial, keepdims=True) if spatial else x32
        own_square = tf.reduce_mean(tf.square(x32), spatial, keepdims=True) if spatial else tf.square(x32)
        new = 1.0 / (self.reference_size + 1.0)
        mean = new * own_mean + (1.0 - new) * self.reference_mean
        variance = new * own_square + (1.0 - new) * self.reference_mean_square - tf.square(mean)
        gamma, beta = tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32)  # not the compute dtype
        y = (x32 - mean) * tf.math.rsqrt(tf.maximum(variance, 0.0) + self.epsilon) * gamma + beta
        return tf.cast(y, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "reference_size": self.reference_size, "epsilon": self.epsilon}


@register
class VirtualBatchNorm(Trick):
    settings = (
        Setting("virtual_batch_norm", int, 0, "size of G's reference batch for virtual batch norm; 0 is off"),
    )

    def networks(self, generator, discriminator):
        layers = generator.layers
        if any(isinstance(layer, VirtualBatchNormalization) for layer in layers):
            return generator, discriminator  # a saved model, converted when it was built
        if not any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers):
            raise ValueError("virtual_batch_norm replaces G's batch normalization, and this G has none.")

        def convert(layer):
            if isinstance(layer, keras.layers.BatchNormalization):
                return VirtualBatchNormalization(self.virtual_batch_norm, layer.epsilon, name=layer.name,
                                                 dtype=layer.dtype_policy)  # fmt: skip
            return layer.__class__.from_config(layer.get_config())

        converted = keras.models.clone_model(generator, clone_function=convert)
        converted.set_weights(generator.get_weights())  # BN's gamma, beta, moving statistics in order
        return converted, discriminator

    def begin_step(self, model):
        self._collect(model, model.generator)

    def after_g_update(self, model):
        # A generator kept for sampling (G's EMA, updated just before: "ema" < this file's
        # name) has other weights than G, so it needs its own reference statistics: G's
        # would normalize its activations wrongly (its samples come out as a plaid).
        sampler = model.sampling_generator
        if sampler is not model.generator:
            self._collect(model, sampler)

    def _collect(self, model, generator):
        """Runs the reference batch through `generator`, each VBN layer keeping its statistics."""
        drawn = contract.sample_inputs(model.input_fields, self.virtual_batch_norm, REFERENCE_SEED)
        reference = [drawn[t.name] for t in generator.inputs]
        layers = [layer for layer in generator.layers if isinstance(layer, VirtualBatchNormalization)]
        for layer in layers:
            layer.collect_reference = True
        try:
            generator(reference if len(reference) > 1 else reference[0], training=True)
        finally:
            for layer in layers:
                layer.collect_reference = False
