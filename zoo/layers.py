"""Layers the networks share: minibatch discrimination."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class MinibatchDiscrimination(keras.layers.Layer):
    """Appends, per example, how close it is to the rest of its batch.

    Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 3.2: features
    f (B, A) are projected by a learned tensor T to M (B, num_kernels, kernel_dim); for
    each kernel b, o(x_i)_b = sum_j exp(-||M_i,b - M_j,b||_1). A collapsed generator makes
    its samples close to each other, which D can then see.

    Args:
        num_kernels: number of closeness features appended (B in the paper).
        kernel_dim: size of each projection (C in the paper).
    """

    def __init__(self, num_kernels: int = 32, kernel_dim: int = 8, **kwargs):
        super().__init__(**kwargs)
        if num_kernels < 1 or kernel_dim < 1:
            raise ValueError(
                f"num_kernels and kernel_dim must be positive. Received: "
                f"num_kernels={num_kernels}, kernel_dim={kernel_dim}"
            )
        self.num_kernels = num_kernels
        self.kernel_dim = kernel_dim

    def build(self, input_shape):
        self.projection = self.add_weight(
            shape=(input_shape[-1], self.num_kernels * self.kernel_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="projection",
        )

    def call(self, features):
        m = ops.reshape(ops.matmul(features, self.projection), (-1, self.num_kernels, self.kernel_dim))
        # (B, 1, K, C) - (1, B, K, C) -> L1 over C -> (B, B, K)
        distances = ops.sum(ops.abs(ops.expand_dims(m, 1) - ops.expand_dims(m, 0)), axis=-1)
        closeness = ops.sum(ops.exp(-distances), axis=1) - 1.0  # minus exp(0) of i with itself
        return ops.concatenate([features, closeness], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_kernels)

    def get_config(self):
        return {
            **super().get_config(),
            "num_kernels": self.num_kernels,
            "kernel_dim": self.kernel_dim,
        }
