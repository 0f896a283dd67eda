"""Architecture builders: plain functional `keras.Model`s for generators and discriminators.

Every generator takes an input named `z` and returns an output named `image` (NHWC, tanh,
in [-1, 1]); every discriminator takes `image` and returns one logit per example, `logit`.
These names become the exported signatures.
"""

from zoo.models.networks.dcgan import dcgan_discriminator, dcgan_generator
from zoo.models.networks.mlp import mlp_discriminator, mlp_generator

__all__ = ["dcgan_discriminator", "dcgan_generator", "mlp_discriminator", "mlp_generator"]
