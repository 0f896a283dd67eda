"""Least-squares GAN: DCGAN networks, least-squares losses."""

from zoo.models.registry import register_variant
from zoo.models.variants.dcgan import DCGAN


@register_variant("lsgan")
class LSGAN(DCGAN):
    """Least Squares GAN (Mao et al. 2017, arXiv:1611.04076).

    D regresses real images to 1 and fakes to 0, G pushes its fakes toward 1
    (`zoo.models.losses.least_squares_*`, the a=0, b=c=1 coding). Fakes on the right side of
    the boundary but far from the data still get gradients, unlike with the sigmoid loss.
    `d_real` and `d_fake` report D's raw output, a regression target, not a probability.
    """

    defaults = {"loss": "least_squares"}

    def score(self, logits):
        return logits
