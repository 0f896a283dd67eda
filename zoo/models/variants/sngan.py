"""Spectrally normalized GAN with the hinge loss."""

from zoo.models.registry import register_variant
from zoo.models.variants.dcgan import DCGAN


@register_variant("sngan")
class SNGAN(DCGAN):
    """Spectral Normalization GAN (Miyato et al. 2018, arXiv:1802.05957).

    Every layer of D is wrapped in spectral normalization (one power iteration per
    training call), which bounds D's Lipschitz constant with no batch norm; trained
    with the hinge loss as in the paper's CNN experiments. `d_real` and `d_fake`
    report D's raw output.
    """

    d_norm = "none"
    spectral_norm = True
    defaults = {"loss": "hinge"}

    def score(self, logits):
        return logits
