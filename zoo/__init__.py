"""gan-zoo: GAN variants as keras.Models that train with `fit` and export to SavedModel/ONNX.

Importing `zoo` alone loads no TensorFlow, so TF-free code (`zoo.errors`, `zoo.files`,
`zoo.images`, `export.manifest`) can live in it; `export.sample` needs no gan-zoo at all. The first use of
`zoo.AdversarialModel`, `zoo.build`, `zoo.available`, `zoo.from_preset` or `zoo.register_variant` imports
`zoo.variants`, which registers every variant; code that loads a `.keras` file without
touching those first imports `zoo.variants` itself so `keras.models.load_model` finds them.
"""

import importlib

from zoo.errors import ZooError

# name -> module that defines it; imported on first access (PEP 562).
_LAZY = {
    "AdversarialModel": "zoo.adversarial",
    "available": "zoo.registry",
    "build": "zoo.registry",
    "from_preset": "zoo.presets",
    "register_variant": "zoo.registry",
}

__all__ = ["AdversarialModel", "ZooError", "available", "build", "from_preset", "register_variant"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module("zoo.variants")  # registers the variants before any is built or loaded
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
