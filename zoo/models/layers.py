"""Layers the networks share: minibatch discrimination, batch norm on TensorFlow's fused kernel,
spectral normalization that differentiates through sigma."""

import keras
import tensorflow as tf
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


@keras.saving.register_keras_serializable(package="zoo")
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras' batch norm whose training pass runs TensorFlow's fused kernel.

    Keras 3 computes batch norm in training as separate ops (moments, then subtract,
    scale and shift; with `synchronized=True` also a tensor of ones the size of the
    input, to count it), each of them and its gradient a pass over memory
    (keras-team/keras-core#225). TensorFlow's FusedBatchNormV3 does the forward pass in
    one kernel and the backward in another, bfloat16 inputs included. The arithmetic is
    Keras': inputs normalized by the biased batch variance, the moving statistics
    updated with it (the kernel returns the Bessel-corrected variance, which is undone).
    Inference, and whatever the kernel cannot do (another backend, inputs not 4-D
    channels-last, a mask, renorm, moments synchronized over several replicas), take
    Keras' own path. It keeps Keras' class name, so layers are named as Keras names them
    and weights saved from either network load into the other.
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            scale=self.gamma if self.scale else tf.ones(self.moving_mean.shape),
            offset=self.beta if self.center else tf.zeros(self.moving_mean.shape),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), tf.float32)  # values per channel
        variance *= (count - 1.0) / tf.maximum(count, 1.0)  # Bessel's correction undone
        for statistic, batch_value in [(self.moving_mean, mean), (self.moving_variance, variance)]:
            statistic.assign(statistic * self.momentum + batch_value * (1.0 - self.momentum))
        return tf.cast(outputs, self.compute_dtype)

    def _fusable(self, inputs, mask) -> bool:
        rank = len(inputs.shape)
        return (
            keras.backend.backend() == "tensorflow"
            and rank == 4
            and self.axis in (-1, rank - 1)
            and mask is None
            and not self.renorm
            and self.epsilon >= 1.001e-5  # the kernel's smallest
            and not (self.synchronized and tf.distribute.get_strategy().num_replicas_in_sync > 1)
        )


@keras.saving.register_keras_serializable(package="zoo")
class SpectralNormalization(keras.layers.SpectralNormalization):
    """Spectral normalization as Miyato et al. 2018 (arXiv:1802.05957) define it.

    The wrapped Dense or Conv2D computes with W / sigma(W), sigma the largest singular
    value estimated by power iteration on a stored vector u, and the gradient reaches W
    through sigma too (u and v held constant). Keras' own wrapper
    instead writes W / sigma back into the kernel at each training call and then
    differentiates the layer as if that kernel were a free weight, so no gradient passes
    through sigma: the same defect tensorflow/addons#1244 found in the design it came
    from (keras-team/keras#20309 is about its gradients too). Here the kernel is never
    written; u is updated once per training call. The variables and their names are
    Keras', so weights saved from either wrapper load into the other, and sigma is
    computed in float32 whatever the layer's compute dtype.
    """

    def __init__(self, layer, power_iterations: int = 1, **kwargs):
        kwargs.setdefault("autocast", False)  # read the kernel and u in float32; inputs cast in call
        super().__init__(layer, power_iterations=power_iterations, **kwargs)
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            kind = type(layer).__name__
            raise ValueError(f"spectral normalization wraps Dense or Conv2D. Received: {kind}")

    def call(self, inputs, training=False):
        inputs = ops.cast(inputs, self.compute_dtype)
        kernel = ops.cast(self.normalized_kernel(training), self.compute_dtype)
        layer = self.layer
        if isinstance(layer, keras.layers.Conv2D):
            outputs = layer.convolution_op(inputs, kernel)
        else:
            outputs = ops.matmul(inputs, kernel)
        if layer.use_bias:
            outputs = ops.add(outputs, ops.cast(layer.bias, outputs.dtype))
        return layer.activation(outputs) if layer.activation is not None else outputs

    def normalized_kernel(self, training=False):
        """W / sigma(W), differentiable in W; a training call also moves u one step on."""
        weights = ops.reshape(ops.cast(self.kernel, "float32"), (-1, self.kernel_shape[-1]))
        u = ops.cast(self.vector_u, "float32")
        for _ in range(self.power_iterations if training else 1):
            v = ops.normalize(ops.matmul(u, ops.transpose(weights)), axis=-1)
            u = ops.normalize(ops.matmul(v, weights), axis=-1)
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        if training:
            self.vector_u.assign(ops.cast(u, self.vector_u.dtype))
        sigma = ops.matmul(ops.matmul(v, weights), ops.transpose(u))
        return ops.reshape(ops.divide(weights, sigma), self.kernel_shape)
