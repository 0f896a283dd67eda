"""Deep convolutional G and D (Radford et al. 2016).

The paper's rules: strided (transposed) convolutions instead of pooling, batch norm in
both networks (not on G's output nor D's input), no fully connected hidden layers,
ReLU in G with tanh at the output, LeakyReLU(0.2) in D.
"""

import keras

from zoo.networks.mlp import _check_shape


def _upsamplings(size: int) -> tuple[int, int]:
    """How many 2x upsamplings reach `size`, and the start size (4 to 7)."""
    steps = 0
    while size % 2 == 0 and size > 7:
        size //= 2
        steps += 1
    if steps == 0:
        raise ValueError(
            f"DCGAN needs an image side of 8 or more that halves to 4..7. Received: {size}"
        )
    return steps, size


def dcgan_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    width: int = 64,
    kernel_size: int = 4,
    name: str = "generator",
) -> keras.Model:
    """z -> project to (s, s, width * 2^(n-1)) -> n transposed convs -> tanh image.

    28x28 images start at 7x7 (2 upsamplings), 32x32 and 64x64 start at 4x4 (3 and 4).
    """
    height, width_px, channels = _check_shape(image_shape)
    if height != width_px:
        raise ValueError(f"DCGAN expects square images. Received: image_shape={image_shape}")
    steps, start = _upsamplings(height)
    filters = width * 2 ** (steps - 1)

    z = keras.Input(shape=(latent_dim,), name="z")
    # The projection of z is a matmul reshaped to a 4-D tensor, not a hidden FC layer.
    x = keras.layers.Dense(start * start * filters, use_bias=False)(z)
    x = keras.layers.Reshape((start, start, filters))(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    x = keras.layers.ReLU()(x)
    for _ in range(steps - 1):
        filters //= 2
        x = keras.layers.Conv2DTranspose(filters, kernel_size, 2, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(channels, kernel_size, 2, padding="same")(x)
    image = keras.layers.Activation("tanh", name="image")(x)
    return keras.Model(z, image, name=name)


def dcgan_discriminator(
    image_shape: tuple[int, int, int],
    width: int = 64,
    kernel_size: int = 4,
    name: str = "discriminator",
) -> keras.Model:
    """image -> n strided convs (width, 2*width, ...) -> flatten -> logit."""
    height, width_px, _ = _check_shape(image_shape)
    if height != width_px:
        raise ValueError(f"DCGAN expects square images. Received: image_shape={image_shape}")
    steps, _ = _upsamplings(height)

    image = keras.Input(shape=image_shape, name="image")
    x = image
    filters = width
    for i in range(steps):
        x = keras.layers.Conv2D(filters, kernel_size, 2, padding="same", use_bias=i == 0)(x)
        if i > 0:  # no batch norm on D's input layer
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        filters *= 2
    x = keras.layers.Flatten()(x)
    logit = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(image, logit, name=name)
