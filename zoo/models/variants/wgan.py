"""Wasserstein GAN with weight clipping."""

from zoo.models.registry import register_variant
from zoo.models.variants.dcgan import DCGAN


@register_variant("wgan")
class WGAN(DCGAN):
    """Wasserstein GAN (Arjovsky et al. 2017, arXiv:1701.07875).

    The critic estimates the Wasserstein-1 distance (loss `wasserstein`); it is kept
    Lipschitz by clipping every weight to [-c, c] after each update (`weight_clip`,
    0.01), and trained `d_steps` (n_critic, 5) times per generator step. The paper uses
    RMSprop(5e-5) (the recipe's optimizer). `d_real` and `d_fake` report the critic's
    mean output, whose gap estimates the distance.
    """

    defaults = {"loss": "wasserstein", "weight_clip": 0.01, "d_steps": 5}

    def score(self, logits):
        return logits
