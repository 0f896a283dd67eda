import keras
import numpy as np
import pytest

from zoo.models.networks import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator

SHAPES = [(28, 28, 1), (32, 32, 3), (64, 64, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_dcgan_shapes_names_and_range(shape):
    g = dcgan_generator(16, shape, width=8)
    d = dcgan_discriminator(shape, width=8)
    z = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32) * 10
    images = g(z, training=False).numpy()
    assert images.shape == (3, *shape)
    assert images.min() >= -1.0 and images.max() <= 1.0  # tanh output
    assert d(images).shape == (3, 1)
    assert [t.name for t in g.inputs] == ["z"] and [t.name for t in d.inputs] == ["image"]


@pytest.mark.parametrize("shape", SHAPES)
def test_dcgan_follows_the_papers_rules(shape):
    g, d = dcgan_generator(16, shape, width=8), dcgan_discriminator(shape, width=8)
    layers = g.layers + d.layers
    assert not any(isinstance(x, keras.layers.MaxPooling2D | keras.layers.AveragePooling2D)
                   for x in layers)  # fmt: skip
    # Exactly one Dense each: G's projection of z and D's final logit (no FC hidden layers).
    assert sum(isinstance(x, keras.layers.Dense) for x in g.layers) == 1
    assert sum(isinstance(x, keras.layers.Dense) for x in d.layers) == 1
    assert any(isinstance(x, keras.layers.BatchNormalization) for x in g.layers)
    assert any(isinstance(x, keras.layers.BatchNormalization) for x in d.layers)
    # No batch norm right after D's input convolution, nor at G's output.
    first_conv = next(i for i, x in enumerate(d.layers) if isinstance(x, keras.layers.Conv2D))
    assert not isinstance(d.layers[first_conv + 1], keras.layers.BatchNormalization)
    assert isinstance(g.layers[-2], keras.layers.Conv2DTranspose)
    assert any(isinstance(x, keras.layers.LeakyReLU) for x in d.layers)
    assert any(isinstance(x, keras.layers.ReLU) for x in g.layers)


def test_mlp_shapes_and_dropout():
    g = mlp_generator(8, (28, 28, 1), hidden=(16, 32))
    d = mlp_discriminator((28, 28, 1), hidden=(32, 16), dropout=0.5)
    images = g(np.zeros((2, 8), np.float32)).numpy()
    assert images.shape == (2, 28, 28, 1)
    assert sum(isinstance(x, keras.layers.Dropout) for x in d.layers) == 2
    x = np.ones((4, 28, 28, 1), np.float32)
    # Dropout is active in training only.
    np.testing.assert_array_equal(d(x, training=False).numpy(), d(x, training=False).numpy())
    assert not np.allclose(d(x, training=True).numpy(), d(x, training=False).numpy())


def test_mlp_generator_batch_norm_normalizes_each_hidden_layer_in_training():
    g = mlp_generator(8, (28, 28, 1), hidden=(16, 32), batch_norm=True)
    norms = [x for x in g.layers if isinstance(x, keras.layers.BatchNormalization)]
    assert len(norms) == 2
    plain = mlp_generator(8, (28, 28, 1)).layers
    assert not any(isinstance(x, keras.layers.BatchNormalization) for x in plain)
    z = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    first = keras.Model(g.input, norms[0].output)
    normalized = first(z, training=True).numpy()
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalized.std(axis=0), 1.0, atol=1e-2)
    # Inference uses the moving statistics, which one call has barely moved from (0, 1).
    assert not np.allclose(first(z, training=False).numpy(), normalized, atol=1e-2)


@pytest.mark.parametrize("shape", [(28, 32, 1), (6, 6, 1), (28, 28)])
def test_bad_image_shapes_are_refused(shape):
    with pytest.raises(ValueError, match="image"):
        dcgan_generator(8, shape)
