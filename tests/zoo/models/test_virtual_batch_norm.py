"""Virtual batch normalization: each example normalized with a fixed reference batch's
statistics, so an image depends on its own input alone."""

import keras
import numpy as np
import pytest

from tests import helpers
from zoo.models.adversarial import feed
from zoo.models.tricks.virtual_batch_norm import REFERENCE_SEED, VirtualBatchNormalization


def _vbn_layers(network):
    return [layer for layer in network.layers if isinstance(layer, VirtualBatchNormalization)]


def test_the_layer_follows_the_formula_and_ignores_the_rest_of_the_batch():
    rng = np.random.default_rng(0)
    layer = VirtualBatchNormalization(reference_size=4)
    reference = rng.normal(2.0, 3.0, (4, 3, 3, 2)).astype(np.float32)
    layer.collect_reference = True
    layer(reference)
    layer.collect_reference = False
    np.testing.assert_allclose(layer.reference_mean.numpy(), reference.mean(axis=(0, 1, 2)), rtol=1e-5)
    x = rng.normal(0.0, 1.0, (5, 3, 3, 2)).astype(np.float32)
    out = layer(x).numpy()
    # mu = (own mean + R ref mean) / (R + 1), per example and channel; the same for the square.
    own, own_sq = x.mean(axis=(1, 2), keepdims=True), (x**2).mean(axis=(1, 2), keepdims=True)
    mean = (own + 4 * reference.mean(axis=(0, 1, 2))) / 5
    square = (own_sq + 4 * (reference**2).mean(axis=(0, 1, 2))) / 5
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(square - mean**2 + 1e-3), rtol=1e-4, atol=1e-5)
    # Example 0's output does not change when the others do.
    other = x.copy()
    other[1:] = rng.normal(5.0, 4.0, other[1:].shape)
    np.testing.assert_allclose(layer(other).numpy()[0], out[0], rtol=1e-6)


def test_g_gets_vbn_in_place_of_batch_norm_and_an_image_depends_on_its_input_alone():
    model = helpers.tiny("dcgan", virtual_batch_norm=16)
    layers = _vbn_layers(model.generator)
    assert layers and not any(isinstance(x, keras.layers.BatchNormalization) for x in model.generator.layers)
    helpers.fit_briefly(model)
    inputs = model.sample_inputs(8, seed=1)
    other = model.sample_inputs(8, seed=2)
    other["z"][0] = inputs["z"][0]
    for training in (True, False):  # batch norm in training mode would mix the batch
        a = model.generator(feed(model.generator, inputs), training=training).numpy()
        b = model.generator(feed(model.generator, other), training=training).numpy()
        np.testing.assert_allclose(a[0], b[0], atol=1e-5)
        assert not np.allclose(a[1], b[1], atol=1e-3)


def test_each_step_refreshes_the_reference_statistics_from_the_reference_batch():
    model = helpers.tiny("cgan", virtual_batch_norm=16)  # conditional: the reference holds labels too
    layer = _vbn_layers(model.generator)[0]
    helpers.fit_briefly(model, steps=1)
    seen = layer.reference_mean.numpy()
    assert not np.allclose(seen, 0.0)  # no longer the initial value
    reference = model.sample_inputs(16, seed=REFERENCE_SEED)
    before = keras.Model(model.generator.inputs, layer.input)
    # The statistics were taken before this step's update of G: with G updated since, they
    # differ from G's now, and match after the next step's refresh, which starts from here.
    model.tricks[0].begin_step(model)
    activations = before(feed(before, reference), training=True).numpy()
    expected = activations.mean(axis=(0, 1, 2))
    np.testing.assert_allclose(layer.reference_mean.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_the_ema_generator_keeps_reference_statistics_of_its_own_weights():
    model = helpers.fit_briefly(helpers.tiny("dcgan", virtual_batch_norm=16, ema_decay=0.5), steps=3)
    ema = model.generator_ema
    layer = _vbn_layers(ema)[0]
    before = keras.Model(ema.inputs, layer.input)
    reference = model.sample_inputs(16, seed=REFERENCE_SEED)
    activations = before(feed(before, reference), training=True).numpy()
    expected = activations.mean(axis=(0, 1, 2))
    np.testing.assert_allclose(layer.reference_mean.numpy(), expected, rtol=1e-4, atol=1e-5)
    g_layer = _vbn_layers(model.generator)[0]
    assert not np.allclose(layer.reference_mean.numpy(), g_layer.reference_mean.numpy())


def test_vbn_round_trips_and_exports_with_parity(tmp_path):
    model = helpers.fit_briefly(helpers.tiny("dcgan", virtual_batch_norm=8, ema_decay=0.9))
    assert _vbn_layers(model.generator_ema)  # the EMA copy of G has them too
    loaded = helpers.assert_saving_round_trip(model, tmp_path)
    assert _vbn_layers(loaded.generator) and loaded.virtual_batch_norm == 8
    helpers.assert_export_parity(model, tmp_path / "export")


def test_a_g_without_batch_norm_is_refused():
    with pytest.raises(ValueError, match="has none"):
        helpers.tiny("gan", virtual_batch_norm=8)


def test_vbn_trains_in_mixed_bfloat16():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = helpers.fit_briefly(helpers.tiny("dcgan", virtual_batch_norm=8))
    finally:
        keras.config.set_dtype_policy("float32")
    layer = _vbn_layers(model.generator)[0]
    assert layer.compute_dtype == "bfloat16" and not np.allclose(layer.reference_mean.numpy(), 0.0)
    assert np.isfinite(model.generate(4)).all()
