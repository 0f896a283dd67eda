"""DCGAN: convolutional G and D under Radford et al.'s architecture rules."""

from zoo.adversarial import AdversarialModel
from zoo.networks import dcgan_discriminator, dcgan_generator
from zoo.registry import register_variant


@register_variant("dcgan")
class DCGAN(AdversarialModel):
    """Deep Convolutional GAN (Radford et al. 2016, arXiv:1511.06434).

    Networks from `zoo.networks.dcgan` for square images of side 28, 32 or 64 (any side
    that halves down to 4..7). The paper trains with Adam(2e-4, beta_1=0.5).

    Example:
    >>> gan = zoo.build("dcgan", image_shape=(64, 64, 3), latent_dim=100)
    """

    @classmethod
    def create(
        cls,
        image_shape: tuple[int, int, int],
        latent_dim: int = 100,
        g_width: int = 64,
        d_width: int = 64,
        **kwargs,
    ) -> "DCGAN":
        """`g_width` is G's last hidden width, `d_width` D's first; both double per scale."""
        return cls(
            generator=dcgan_generator(latent_dim, image_shape, width=g_width),
            discriminator=dcgan_discriminator(image_shape, width=d_width),
            latent_dim=latent_dim,
            **kwargs,
        )
