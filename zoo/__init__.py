"""gan-zoo: GAN variants as keras.Models that train with `fit` and export to SavedModel/ONNX.

Layers, lowest first (docs/architecture.md): `zoo.contract` (the deployment contract, no
project imports), `zoo.errors` / `zoo.files` / `zoo.multi_worker`, `zoo.models` (the game,
tricks, networks, variants) and `zoo.data`, `zoo.evaluation` (metrics, the judge),
`zoo.training` (callbacks), `zoo.presets`, then this module's public names.

Importing `zoo` alone loads no TensorFlow. The first use of `zoo.AdversarialModel`,
`zoo.build`, `zoo.available`, `zoo.from_preset` or `zoo.register_variant` imports
`zoo.models.variants`, which registers every variant; code that loads a `.keras` file
without touching those first imports `zoo.models.variants` itself so
`keras.models.load_model` finds them.
"""

import importlib

from zoo.errors import ZooError

# name -> module that defines it; imported on first access (PEP 562).
_LAZY = {
    "AdversarialModel": "zoo.models.adversarial",
    "available": "zoo.models.registry",
    "build": "zoo.models.registry",
    "from_preset": "zoo.presets",
    "register_variant": "zoo.models.registry",
}

__all__ = ["AdversarialModel", "ZooError", "available", "build", "from_preset", "register_variant"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module("zoo.models.variants")  # registers the variants before any is built or loaded
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
