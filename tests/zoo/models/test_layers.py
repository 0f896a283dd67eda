"""The fused batch norm computes what Keras' batch norm does, forward, backward and its statistics."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.models.layers import BatchNormalization as FusedBatchNormalization
from zoo.models.networks import dcgan_discriminator, dcgan_generator


def _pair(synchronized: bool, channels: int = 8):
    rng = np.random.default_rng(1)
    weights = [rng.normal(1.0, 0.2, channels), rng.normal(0.0, 0.2, channels),
               rng.normal(0.5, 0.2, channels), rng.uniform(0.5, 2.0, channels)]  # fmt: skip
    layers = []
    for kind in (keras.layers.BatchNormalization, FusedBatchNormalization):
        layer = kind(momentum=0.9, synchronized=synchronized)
        layer.build((None, 5, 5, channels))
        layer.set_weights([w.astype(np.float32) for w in weights])
        layers.append(layer)
    return layers


def _forward_backward(layer, x, training):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.sin(tf.cast(y, tf.float32)))
    grads = tape.gradient(loss, [x, *layer.trainable_variables])
    return [y, *grads]


@pytest.mark.parametrize("synchronized", [False, True])
def test_training_pass_matches_keras_batch_norm(synchronized):
    keras_bn, fused = _pair(synchronized)
    x = np.random.default_rng(0).normal(2.0, 3.0, (6, 5, 5, 8)).astype(np.float32)
    for step in range(3):  # the moving statistics follow Keras' over several updates
        expected = _forward_backward(keras_bn, x + step, training=True)
        got = _forward_backward(fused, x + step, training=True)
        for e, g in zip(expected, got, strict=True):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-4, atol=1e-4)
        for e, g in zip(keras_bn.non_trainable_weights, fused.non_trainable_weights, strict=True):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6)  # biased variance, as Keras
    assert not np.allclose(fused.moving_mean.numpy(), _pair(synchronized)[1].moving_mean.numpy())
    inference = [_forward_backward(layer, x, training=False)[0].numpy() for layer in (keras_bn, fused)]
    np.testing.assert_allclose(inference[1], inference[0], rtol=1e-5, atol=1e-5)


def test_training_pass_runs_the_fused_kernel_in_bfloat16():
    keras_bn, _ = _pair(synchronized=False)
    fused = FusedBatchNormalization(momentum=0.9, dtype="mixed_bfloat16")
    fused.build((None, 5, 5, 8))
    fused.set_weights(keras_bn.get_weights())
    x = tf.cast(np.random.default_rng(0).normal(2.0, 3.0, (6, 5, 5, 8)), tf.bfloat16)
    graph = tf.function(lambda v: fused(v, training=True)).get_concrete_function(x).graph
    kernels = [op for op in graph.get_operations() if op.type.startswith("FusedBatchNorm")]
    assert kernels and kernels[0].inputs[0].dtype == tf.bfloat16  # no cast to float32 first
    y = fused(x, training=True)
    assert y.dtype == tf.bfloat16
    expected = keras_bn(tf.cast(x, tf.float32), training=True)
    np.testing.assert_allclose(tf.cast(y, tf.float32).numpy(), expected.numpy(), atol=0.05)
    np.testing.assert_allclose(fused.moving_mean.numpy(), keras_bn.moving_mean.numpy(), rtol=1e-2)


def test_falls_back_to_keras_where_the_kernel_does_not_apply():
    layer = FusedBatchNormalization()
    graph = tf.function(lambda v: layer(v, training=True)).get_concrete_function(tf.zeros((4, 3))).graph
    assert not any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())  # 2-D


def test_the_networks_use_it_and_save_as_it():
    g, d = dcgan_generator(16, (28, 28, 1), width=8), dcgan_discriminator((28, 28, 1), width=8)
    assert all(type(layer) is FusedBatchNormalization for layer in g.layers + d.layers
               if isinstance(layer, keras.layers.BatchNormalization))  # fmt: skip
    config = keras.saving.serialize_keras_object(g)
    copy = keras.saving.deserialize_keras_object(config)
    assert any(type(layer) is FusedBatchNormalization for layer in copy.layers)
