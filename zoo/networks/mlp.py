"""Fully connected G and D, as in the original GAN (Goodfellow et al. 2014)."""

import math

import keras


def _check_shape(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(image_shape) != 3 or any(int(d) <= 0 for d in image_shape):
        raise ValueError(f"image_shape must be (height, width, channels). Received: {image_shape}")
    return tuple(int(d) for d in image_shape)


def mlp_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    hidden: tuple[int, ...] = (256, 512, 1024),
    name: str = "generator",
) -> keras.Model:
    """z -> ReLU MLP -> tanh image."""
    image_shape = _check_shape(image_shape)
    z = keras.Input(shape=(latent_dim,), name="z")
    x = z
    for units in hidden:
        x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dense(math.prod(image_shape), activation="tanh")(x)
    image = keras.layers.Reshape(image_shape, name="image")(x)
    return keras.Model(z, image, name=name)


def mlp_discriminator(
    image_shape: tuple[int, int, int],
    hidden: tuple[int, ...] = (1024, 512, 256),
    dropout: float = 0.3,
    name: str = "discriminator",
) -> keras.Model:
    """image -> LeakyReLU MLP with dropout -> logit. Dropout regularizes D as in the paper."""
    image_shape = _check_shape(image_shape)
    image = keras.Input(shape=image_shape, name="image")
    x = keras.layers.Flatten()(image)
    for units in hidden:
        x = keras.layers.Dense(units)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    logit = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(image, logit, name=name)
