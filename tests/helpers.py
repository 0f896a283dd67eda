"""Checks every variant must pass, one helper per property; each variant's test file calls them."""

import keras
import numpy as np
import tensorflow as tf

import zoo
import zoo.models.variants  # registers the variants for load_model
from export import artifacts, manifest
from zoo.models.adversarial import AdversarialModel, feed

NUM_CLASSES = 4
SHAPE = (28, 28, 1)


def tiny(variant: str, **kwargs) -> AdversarialModel:
    """A small, compiled instance of a variant for 28x28x1 images."""
    if zoo.models.registry.variant_class(variant).conditional:
        kwargs.setdefault("num_classes", NUM_CLASSES)
    model = zoo.build(variant, image_shape=SHAPE, latent_dim=8, g_width=8, d_width=8, seed=0, **kwargs)
    return compile_for_test(model)


def compile_for_test(model: AdversarialModel, lr: float = 1e-3) -> AdversarialModel:
    model.compile(
        d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
    )
    return model


def structured_images(n: int, shape=SHAPE, seed: int = 0, labels=None) -> np.ndarray:
    """'Real' images with structure a fresh generator lacks: bright bars on a dark field.

    With `labels`, the class decides which rows are bright, so classes are learnable.
    """
    rng = np.random.default_rng(seed)
    h, w, c = shape
    images = -np.ones((n, h, w, c), np.float32)
    for i, image in enumerate(images):
        if labels is None:
            rows = rng.choice(h, size=max(1, h // 4), replace=False)
        else:
            rows = np.arange(int(labels[i]), h, NUM_CLASSES + 1)
        image[rows] = 0.8
    return np.clip(images + rng.normal(0, 0.05, images.shape), -1, 1).astype(np.float32)


def real_batch(model: AdversarialModel, n: int = 32, seed: int = 0):
    """(images, labels or None) for the model's kind of data."""
    labels = None
    if model.num_classes:
        labels = (np.arange(n) % model.num_classes).astype(np.int32)
    return structured_images(n, model.image_shape, seed, labels), labels


def real_tensors(model: AdversarialModel, n: int = 32, seed: int = 0):
    """(images, labels or None) as tensors, to call the model's steps directly."""
    real, labels = real_batch(model, n, seed)
    return tf.constant(real), (None if labels is None else tf.constant(labels))


def _weights(network: keras.Model) -> list[np.ndarray]:
    return [v.numpy().copy() for v in network.trainable_variables]


def d_objective(model, real, labels, g_inputs) -> float:
    """Mean D loss (adversarial + its heads') on a real batch and the fakes of fixed inputs."""
    fake = model.generator(feed(model.generator, g_inputs), training=False)
    real_logits, real_extras = model.discriminate(real, labels, training=False)
    fake_logits, fake_extras = model.discriminate(fake, labels, training=False)
    loss = model.discriminator_loss(real_logits, fake_logits)
    aux = model.discriminator_aux_loss(real_extras, fake_extras, labels, g_inputs)
    return float(tf.reduce_mean(loss + (aux if aux is not None else 0.0)))


def g_objective(model, labels, g_inputs) -> float:
    """Mean G loss (adversarial + through D's heads) for fixed inputs."""
    fake = model.generator(feed(model.generator, g_inputs), training=False)
    fake_logits, fake_extras = model.discriminate(fake, labels, training=False)
    loss = model.generator_loss(fake_logits)
    aux = model.generator_aux_loss(fake_extras, labels, g_inputs)
    return float(tf.reduce_mean(loss + (aux if aux is not None else 0.0)))


def _falls(before: float, after: float, fraction: float, floor: float = 1.0) -> bool:
    """after < before by `fraction` of |before| (of `floor` when |before| is smaller)."""
    return after < before - fraction * max(floor, abs(before))


def assert_discriminator_learns(
    model: AdversarialModel, steps: int = 40, fraction: float = 0.2, floor: float = 1.0
):
    """D trained alone on one fixed real batch: its objective falls and G does not move."""
    real, labels = real_tensors(model)
    g_inputs = model.generator_inputs(real.shape[0], labels)
    g_before = _weights(model.generator)
    before = d_objective(model, real, labels, g_inputs)
    step = tf.function(lambda x, y: model.discriminator_step(x, y))
    for _ in range(steps):
        step(real, labels)
    after = d_objective(model, real, labels, g_inputs)
    assert _falls(before, after, fraction, floor), (before, after)
    for a, b in zip(g_before, _weights(model.generator), strict=True):
        np.testing.assert_array_equal(a, b)
    return before, after


def assert_generator_learns(
    model: AdversarialModel, steps: int = 40, fraction: float = 0.1, floor: float = 1.0, d_warmup: int = 20
):
    """G trained alone against a frozen D: its objective falls and D does not move.

    D first trains for `d_warmup` steps so that it holds a signal worth following.
    """
    real, labels = real_tensors(model, seed=2)
    d_step = tf.function(lambda x, y: model.discriminator_step(x, y))
    for _ in range(d_warmup):
        d_step(real, labels)
    g_inputs = model.generator_inputs(real.shape[0], labels)
    d_before = _weights(model.discriminator)
    before = g_objective(model, labels, g_inputs)
    step = tf.function(lambda x, y: model.generator_step(tf.shape(x)[0], y, x))
    for _ in range(steps):
        step(real, labels)
    after = g_objective(model, labels, g_inputs)
    assert _falls(before, after, fraction, floor), (before, after)
    for a, b in zip(d_before, _weights(model.discriminator), strict=True):
        np.testing.assert_array_equal(a, b)
    return before, after


def fit_briefly(model: AdversarialModel, steps: int = 2) -> AdversarialModel:
    real, labels = real_batch(model, n=16 * model.d_steps * steps)
    model.fit(real, labels, batch_size=16 * model.d_steps, epochs=1, verbose=0)
    return model


def assert_saving_round_trip(model: AdversarialModel, tmp_path) -> AdversarialModel:
    """`.keras` save/load (safe_mode) gives the same class, config, outputs and optimizer state."""
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.get_config().keys() == model.get_config().keys()
    np.testing.assert_array_equal(model.generate(8, seed=3), loaded.generate(8, seed=3))
    real, labels = real_tensors(model, n=8)
    np.testing.assert_array_equal(
        model.discriminate(real, labels, training=False)[0].numpy(),
        loaded.discriminate(real, labels, training=False)[0].numpy(),
    )
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    if model.compiled:
        assert int(loaded.d_optimizer.iterations) == int(model.d_optimizer.iterations)
        assert int(loaded.g_optimizer.iterations) == int(model.g_optimizer.iterations)
        for a, b in zip(model.g_optimizer.variables, loaded.g_optimizer.variables, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    return loaded


def assert_export_parity(model: AdversarialModel, tmp_path) -> dict:
    """Export to SavedModel + ONNX; both match Keras on G's named inputs and D's outputs."""
    import onnxruntime as ort

    out = tmp_path / "export"
    written = artifacts.export_model(model, out)
    assert manifest.read(out) == written
    inputs = model.sample_inputs(5, seed=4)
    g_names = [t.name for t in model.sampling_generator.inputs]
    assert [s["name"] for s in written["generator"]["inputs"]] == g_names
    session = ort.InferenceSession(str(out / "generator.onnx"))
    (images,) = session.run(["image"], {k: inputs[k] for k in g_names})
    np.testing.assert_allclose(images, model.generate(5, inputs=inputs), atol=1e-5)
    for network in ("generator", "discriminator"):
        assert max(written["parity"][network].values()) <= artifacts.PARITY_TOLERANCE
    return written
