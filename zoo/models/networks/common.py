"""Pieces both network families share: conditioning inputs and the discriminator's head.

Names are the export contract: G takes `z` (+ `label`, `code_cat`, `code_cont`), D takes
`image` (+ `label`) and returns `logit` first, then any extra heads by name. D's last
hidden representation is the layer `features` (feature matching reads it).
"""

import keras

from zoo.models.layers import MinibatchDiscrimination, SpectralNormalization

LABEL_EMBEDDING = 50  # size of a class label's learned embedding in G


def check_image_shape(image_shape) -> tuple[int, int, int]:
    if len(image_shape) != 3 or any(int(d) <= 0 for d in image_shape):
        raise ValueError(f"image_shape must be (height, width, channels). Received: {image_shape}")
    return tuple(int(d) for d in image_shape)


def generator_inputs(
    latent_dim: int,
    num_classes: int | None = None,
    categorical_code: int = 0,
    continuous_code: int = 0,
):
    """(inputs, joined): G's named inputs and one (B, F) tensor joining them.

    A class label is embedded (Mirza & Osindero 2014); an InfoGAN categorical code is
    one-hot (a frozen identity embedding), its continuous codes enter as they are.
    """
    z = keras.Input(shape=(latent_dim,), name="z")
    inputs, parts = [z], [z]
    if num_classes:
        label = keras.Input(shape=(), dtype="int32", name="label")
        inputs.append(label)
        parts.append(keras.layers.Embedding(num_classes, LABEL_EMBEDDING)(label))
    if categorical_code:
        code = keras.Input(shape=(), dtype="int32", name="code_cat")
        inputs.append(code)
        one_hot = keras.layers.Embedding(
            categorical_code, categorical_code, embeddings_initializer="identity", trainable=False
        )
        parts.append(one_hot(code))
    if continuous_code:
        code = keras.Input(shape=(continuous_code,), name="code_cont")
        inputs.append(code)
        parts.append(code)
    joined = keras.layers.Concatenate()(parts) if len(parts) > 1 else z
    return inputs, joined


def discriminator_inputs(image_shape, num_classes: int | None = None):
    """(inputs, x): D's named inputs and the image, with the label as one more channel."""
    image_shape = check_image_shape(image_shape)
    image = keras.Input(shape=image_shape, name="image")
    if not num_classes:
        return [image], image
    h, w, _ = image_shape
    label = keras.Input(shape=(), dtype="int32", name="label")
    plane = keras.layers.Embedding(num_classes, h * w)(label)
    plane = keras.layers.Reshape((h, w, 1))(plane)
    return [image, label], keras.layers.Concatenate()([image, plane])


def maybe_spectral(layer: keras.layers.Layer, spectral_norm: bool) -> keras.layers.Layer:
    """Wraps a layer in spectral normalization (Miyato et al. 2018) when asked."""
    return SpectralNormalization(layer) if spectral_norm else layer


def discriminator_head(
    features,
    minibatch_kernels: int = 0,
    heads: dict[str, int] | None = None,
    spectral_norm: bool = False,
) -> list:
    """[logit, *extra heads] from D's flat features (B, F)."""
    features = keras.layers.Identity(name="features")(features)
    x = MinibatchDiscrimination(minibatch_kernels)(features) if minibatch_kernels else features
    # Outputs stay float32 under mixed precision: losses are taken on them.
    if spectral_norm:  # the wrapper carries the output's name
        dense = keras.layers.Dense(1, name="logit_dense", dtype="float32")
        logit = SpectralNormalization(dense, name="logit", dtype="float32")
    else:
        logit = keras.layers.Dense(1, name="logit", dtype="float32")
    outputs = [logit(x)]
    for name, units in (heads or {}).items():
        outputs.append(keras.layers.Dense(units, name=name, dtype="float32")(x))
    return outputs
