"""Deep convolutional G and D (Radford et al. 2016).

The paper's rules: strided (transposed) convolutions instead of pooling, batch norm in
both networks (not on G's output nor D's input), no fully connected hidden layers,
ReLU in G with tanh at the output, LeakyReLU(0.2) in D. Options that later papers need
(label and code inputs, other normalizations in D, spectral norm, extra heads) are
arguments, so every conv variant shares these two builders.
"""

import keras

from zoo.models import layers as zoo_layers
from zoo.models.networks.common import (
    check_image_shape,
    discriminator_head,
    discriminator_inputs,
    generator_inputs,
    maybe_spectral,
)

NORMS = ("batch", "layer", "none")


def _upsamplings(size: int) -> tuple[int, int]:
    """How many 2x upsamplings reach `size`, and the start size (4 to 7)."""
    steps = 0
    while size % 2 == 0 and size > 7:
        size //= 2
        steps += 1
    if steps == 0:
        raise ValueError(f"DCGAN needs an image side that halves to 4..7. Received: {size}")
    return steps, size


def _square(image_shape) -> tuple[int, int, int]:
    shape = check_image_shape(image_shape)
    if shape[0] != shape[1]:
        raise ValueError(f"DCGAN expects square images. Received: image_shape={image_shape}")
    return shape


def dcgan_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    width: int = 64,
    kernel_size: int = 4,
    num_classes: int | None = None,
    categorical_code: int = 0,
    continuous_code: int = 0,
    name: str = "generator",
) -> keras.Model:
    """z (+ label/codes) -> project to (s, s, width * 2^(n-1)) -> n transposed convs -> tanh.

    28x28 images start at 7x7 (2 upsamplings), 32x32 and 64x64 start at 4x4 (3 and 4).
    """
    height, _, channels = _square(image_shape)
    steps, start = _upsamplings(height)
    filters = width * 2 ** (steps - 1)

    inputs, x = generator_inputs(latent_dim, num_classes, categorical_code, continuous_code)
    # The projection of z is a matmul reshaped to a 4-D tensor, not a hidden FC layer.
    x = keras.layers.Dense(start * start * filters, use_bias=False)(x)
    x = keras.layers.Reshape((start, start, filters))(x)
    x = zoo_layers.BatchNormalization(momentum=0.9, synchronized=True)(x)
    x = keras.layers.ReLU()(x)
    for _ in range(steps - 1):
        filters //= 2
        x = keras.layers.Conv2DTranspose(filters, kernel_size, 2, padding="same", use_bias=False)(x)
        x = zoo_layers.BatchNormalization(momentum=0.9, synchronized=True)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(channels, kernel_size, 2, padding="same")(x)
    image = keras.layers.Activation("tanh", name="image", dtype="float32")(x)  # float32 under mixed precision
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, image, name=name)


def dcgan_discriminator(
    image_shape: tuple[int, int, int],
    width: int = 64,
    kernel_size: int = 4,
    num_classes: int | None = None,
    norm: str = "batch",
    spectral_norm: bool = False,
    minibatch_kernels: int = 0,
    heads: dict[str, int] | None = None,
    name: str = "discriminator",
) -> keras.Model:
    """image (+ label) -> n strided convs (width, 2*width, ...) -> flatten -> logit (+ heads).

    `norm="layer"` or `"none"` suits penalties taken per example (WGAN-GP), which batch
    norm would couple across the batch. Layer norm normalizes each example over all of a
    layer's units (height, width and channels, as Ba et al. define it for conv layers),
    with a scale and offset per channel.
    """
    height, _, _ = _square(image_shape)
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}. Received: norm={norm!r}")
    steps, _ = _upsamplings(height)

    inputs, x = discriminator_inputs(image_shape, num_classes)
    filters = width
    for i in range(steps):
        conv = keras.layers.Conv2D(filters, kernel_size, 2, padding="same", use_bias=i == 0 or norm == "none")
        x = maybe_spectral(conv, spectral_norm)(x)
        if i > 0 and norm == "batch":  # no batch norm on D's input layer
            x = zoo_layers.BatchNormalization(momentum=0.9, synchronized=True)(x)
        elif i > 0 and norm == "layer":
            x = keras.layers.GroupNormalization(groups=1)(x)  # one group: layer norm
        x = keras.layers.LeakyReLU(0.2)(x)
        filters *= 2
    outputs = discriminator_head(keras.layers.Flatten()(x), minibatch_kernels, heads, spectral_norm)
    return keras.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outputs[0] if len(outputs) == 1 else outputs,
        name=name,
    )
