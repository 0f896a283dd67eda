"""Variants by name: `@register_variant("dcgan")` on a class makes `build("dcgan", ...)` work."""

import keras

from zoo.errors import ZooError

_VARIANTS: dict[str, type] = {}


def register_variant(name: str):
    """Registers a variant class under `name` and makes it `.keras`-serializable."""

    def decorate(cls):
        if name in _VARIANTS:
            raise ValueError(f"Variant {name!r} is registered twice.")
        cls = keras.saving.register_keras_serializable(package="zoo")(cls)
        cls.variant_name = name
        _VARIANTS[name] = cls
        return cls

    return decorate


def available() -> list[str]:
    """Names of all registered variants."""
    return sorted(_VARIANTS)


def variant_class(name: str) -> type:
    if name not in _VARIANTS:
        raise ZooError(f"unknown variant {name!r}; available: {', '.join(available())}")
    return _VARIANTS[name]


def build(name: str, **kwargs):
    """Builds variant `name` with its networks for `image_shape`, e.g.
    `build("dcgan", image_shape=(28, 28, 1), latent_dim=100)`."""
    return variant_class(name).create(**kwargs)
