"""gan-zoo: GAN variants as keras.Models that train with `fit` and export to SavedModel/ONNX.

Importing `zoo` registers every variant, so `keras.models.load_model` finds them.
"""

from zoo import variants  # noqa: F401  (each variant registers itself on import)
from zoo.adversarial import AdversarialModel
from zoo.errors import ZooError
from zoo.registry import available, build, register_variant

__all__ = ["AdversarialModel", "ZooError", "available", "build", "register_variant"]
