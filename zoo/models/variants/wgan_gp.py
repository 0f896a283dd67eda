"""Wasserstein GAN with a gradient penalty."""

from zoo.models.registry import register_variant
from zoo.models.variants.wgan import WGAN


@register_variant("wgan-gp")
class WGANGP(WGAN):
    """WGAN-GP (Gulrajani et al. 2017, arXiv:1704.00028).

    The critic is kept 1-Lipschitz by penalising (||grad D(x_hat)|| - 1)^2 at random
    interpolates x_hat between real and fake (`gradient_penalty`, lambda = 10; the
    interpolation weight is uniform in [0, 1] per example) instead of clipping. The
    penalty is per example, so the critic uses layer norm, not batch norm. The paper
    uses Adam(1e-4, beta_1=0, beta_2=0.9) and n_critic = 5.
    """

    d_norm = "layer"
    defaults = {"loss": "wasserstein", "gradient_penalty": 10.0, "d_steps": 5}
