"""Spectral normalization differentiates through sigma, never writes the kernel, and loads Keras' weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.models.layers import SpectralNormalization

CASES = {
    "dense": (lambda: keras.layers.Dense(5), (4, 7)),
    "conv": (lambda: keras.layers.Conv2D(6, 3, 2, padding="same"), (2, 8, 8, 3)),
}


def _built(wrapper_class, case, seed=0):
    make, shape = CASES[case]
    keras.utils.set_random_seed(seed)
    layer = wrapper_class(make())
    x = tf.constant(np.random.default_rng(seed).normal(size=shape).astype(np.float32))
    layer(x)  # builds
    return layer, x


def _kernel_gradient(layer, x):
    with tf.GradientTape() as tape:
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.sin(y) * y)
    return tape.gradient(loss, layer.layer.kernel).numpy()


@pytest.mark.parametrize("case", CASES)
def test_the_gradient_is_the_papers_and_reaches_the_kernel_through_sigma(case):
    layer, x = _built(SpectralNormalization, case)
    kernel = layer.layer.kernel
    u0 = tf.constant(layer.vector_u.numpy())
    grad = _kernel_gradient(layer, x)

    # The paper's forward pass written out: one power iteration from the stored u, u and v
    # held constant, the layer computed with W / sigma(W).
    with tf.GradientTape() as tape:
        w = tf.reshape(kernel, (-1, kernel.shape[-1]))
        v = tf.stop_gradient(tf.math.l2_normalize(u0 @ tf.transpose(w)))
        u = tf.stop_gradient(tf.math.l2_normalize(v @ w))
        normalized = tf.reshape(w / (v @ w @ tf.transpose(u)), kernel.shape)
        if case == "conv":
            y = tf.nn.conv2d(x, normalized, 2, "SAME") + layer.layer.bias
        else:
            y = x @ normalized + layer.layer.bias
        loss = tf.reduce_sum(tf.sin(y) * y)
    np.testing.assert_allclose(grad, tape.gradient(loss, kernel).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.vector_u.numpy(), u.numpy(), rtol=1e-5, atol=1e-6)  # u moved on

    # W / sigma(W) does not change when W is rescaled, so the gradient is orthogonal to W.
    # Keras' wrapper writes W / sigma into the kernel and differentiates as if it were free:
    # its gradient has a component along W.
    cosine = lambda g, w: float(np.sum(g * w) / (np.linalg.norm(g) * np.linalg.norm(w)))  # noqa: E731
    assert abs(cosine(grad, kernel.numpy())) < 1e-4
    keras_layer, x = _built(keras.layers.SpectralNormalization, case)
    keras_grad = _kernel_gradient(keras_layer, x)
    assert abs(cosine(keras_grad, keras_layer.layer.kernel.numpy())) > 1e-2


@pytest.mark.parametrize("case", CASES)
def test_the_kernel_is_never_written_and_its_normalized_form_has_norm_one(case):
    layer, x = _built(SpectralNormalization, case)
    before = layer.layer.kernel.numpy().copy()
    u = layer.vector_u.numpy().copy()
    layer(x, training=False)
    np.testing.assert_array_equal(layer.vector_u.numpy(), u)  # inference leaves u alone
    for _ in range(30):
        layer(x, training=True)
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), before)
    assert not np.array_equal(layer.vector_u.numpy(), u)
    normalized = layer.normalized_kernel().numpy()
    sigma = np.linalg.svd(normalized.reshape(-1, normalized.shape[-1]), compute_uv=False)[0]
    assert sigma == pytest.approx(1.0, abs=1e-3)
    raw = np.linalg.svd(before.reshape(-1, before.shape[-1]), compute_uv=False)[0]
    assert abs(raw - 1.0) > 0.02  # the raw kernel was not itself normalized


def test_sigma_is_taken_in_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer, x = _built(SpectralNormalization, "conv")
        y = layer(x, training=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert y.dtype == tf.bfloat16 and layer.normalized_kernel().dtype == tf.float32
    assert layer.layer.kernel.dtype == "float32" and layer.vector_u.dtype == "float32"


@pytest.mark.parametrize("case", CASES)
def test_weights_saved_from_keras_wrapper_load_and_compute_the_same(case):
    keras_layer, x = _built(keras.layers.SpectralNormalization, case)
    for _ in range(30):
        keras_layer(x, training=True)  # its kernel now holds W / sigma
    layer, _ = _built(SpectralNormalization, case, seed=1)
    layer.set_weights(keras_layer.get_weights())
    np.testing.assert_allclose(layer(x).numpy(), keras_layer(x).numpy(), rtol=1e-3, atol=1e-4)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is SpectralNormalization


def test_only_dense_and_conv_layers_are_wrapped():
    with pytest.raises(ValueError, match="wraps Dense or Conv2D"):
        SpectralNormalization(keras.layers.Embedding(4, 3))
