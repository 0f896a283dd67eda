"""Checks every variant must pass, one helper per property (tests/zoo/variants use them)."""

import keras
import numpy as np
import tensorflow as tf

from zoo.adversarial import AdversarialModel


def compile_for_test(model: AdversarialModel, lr: float = 1e-3) -> AdversarialModel:
    model.compile(
        d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
    )
    return model


def structured_images(n: int, shape, seed: int = 0) -> np.ndarray:
    """'Real' images with structure a fresh generator lacks: bright bars on a dark field."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    images = -np.ones((n, h, w, c), np.float32)
    for image in images:
        rows = rng.choice(h, size=max(1, h // 4), replace=False)
        image[rows] = 0.8
    return images + rng.normal(0, 0.05, images.shape).astype(np.float32)


def _weights(network: keras.Model) -> list[np.ndarray]:
    return [v.numpy().copy() for v in network.trainable_variables]


def _d_loss(model, real, z) -> float:
    fake = model.generator(z, training=False)
    loss = model.discriminator_loss(
        model.discriminator(real, training=False), model.discriminator(fake, training=False)
    )
    return float(tf.reduce_mean(loss))


def _g_loss(model, z) -> float:
    fake_logits = model.discriminator(model.generator(z, training=False), training=False)
    return float(tf.reduce_mean(model.generator_loss(fake_logits)))


def assert_discriminator_learns(model: AdversarialModel, steps: int = 40) -> tuple[float, float]:
    """D trained alone on one fixed real batch: its loss falls and G does not move."""
    real = structured_images(32, model.image_shape)
    z = model.sample_inputs(32, seed=1)["z"]
    g_before = _weights(model.generator)
    before = _d_loss(model, real, z)
    step = tf.function(lambda x: model.discriminator_step(x))
    for _ in range(steps):
        step(real)
    after = _d_loss(model, real, z)
    assert after < 0.7 * before, (before, after)
    for a, b in zip(g_before, _weights(model.generator), strict=True):
        np.testing.assert_array_equal(a, b)
    return before, after


def assert_generator_learns(model: AdversarialModel, steps: int = 40) -> tuple[float, float]:
    """G trained alone against a frozen D: its loss falls and D does not move."""
    z = model.sample_inputs(32, seed=2)["z"]
    d_before = _weights(model.discriminator)
    before = _g_loss(model, z)
    step = tf.function(lambda: model.generator_step(32))
    for _ in range(steps):
        step()
    after = _g_loss(model, z)
    assert after < before - 0.1 * abs(before), (before, after)
    for a, b in zip(d_before, _weights(model.discriminator), strict=True):
        np.testing.assert_array_equal(a, b)
    return before, after


def assert_saving_round_trip(model: AdversarialModel, tmp_path) -> AdversarialModel:
    """`.keras` save/load (safe_mode) gives the same class, config, outputs and optimizer state."""
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.get_config().keys() == model.get_config().keys()
    inputs = model.sample_inputs(8, seed=3)["z"]
    np.testing.assert_array_equal(
        model.generator(inputs, training=False).numpy(),
        loaded.generator(inputs, training=False).numpy(),
    )
    images = structured_images(8, model.image_shape)
    np.testing.assert_array_equal(
        model.discriminator(images, training=False).numpy(),
        loaded.discriminator(images, training=False).numpy(),
    )
    if model.compiled:
        assert int(loaded.d_optimizer.iterations) == int(model.d_optimizer.iterations)
        assert int(loaded.g_optimizer.iterations) == int(model.g_optimizer.iterations)
        for a, b in zip(model.g_optimizer.variables, loaded.g_optimizer.variables, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    return loaded
