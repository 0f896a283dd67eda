"""Fully connected G and D, as in the original GAN (Goodfellow et al. 2014)."""

import math

import keras

from zoo.models.networks.common import (
    check_image_shape,
    discriminator_head,
    discriminator_inputs,
    generator_inputs,
)


def mlp_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    hidden: tuple[int, ...] = (256, 512, 1024),
    num_classes: int | None = None,
    batch_norm: bool = False,
    name: str = "generator",
) -> keras.Model:
    """z (+ label) -> ReLU MLP -> tanh image; `batch_norm` normalizes each hidden layer before
    its ReLU, as DCGAN's G does (not in the original GAN)."""
    image_shape = check_image_shape(image_shape)
    inputs, x = generator_inputs(latent_dim, num_classes)
    for units in hidden:
        if batch_norm:
            x = keras.layers.Dense(units, use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        else:
            x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dense(math.prod(image_shape), activation="tanh", dtype="float32")(x)
    image = keras.layers.Reshape(image_shape, name="image", dtype="float32")(x)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, image, name=name)


def mlp_discriminator(
    image_shape: tuple[int, int, int],
    hidden: tuple[int, ...] = (1024, 512, 256),
    dropout: float = 0.3,
    num_classes: int | None = None,
    minibatch_kernels: int = 0,
    name: str = "discriminator",
) -> keras.Model:
    """image (+ label) -> LeakyReLU MLP with dropout -> logit (dropout as in the paper)."""
    inputs, x = discriminator_inputs(image_shape, num_classes)
    x = keras.layers.Flatten()(x)
    for units in hidden:
        x = keras.layers.Dense(units)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    (logit,) = discriminator_head(x, minibatch_kernels)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, logit, name=name)
