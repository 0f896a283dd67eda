"""DCGAN: convolutional G and D under Radford et al.'s architecture rules."""

from zoo.models import tricks
from zoo.models.adversarial import AdversarialModel
from zoo.models.networks import dcgan_discriminator, dcgan_generator
from zoo.models.registry import register_variant


@register_variant("dcgan")
class DCGAN(AdversarialModel):
    """Deep Convolutional GAN (Radford et al. 2016, arXiv:1511.06434).

    Networks from `zoo.models.networks.dcgan` for square images of side 28, 32 or 64 (any side
    that halves down to 4..7). The paper trains with Adam(2e-4, beta_1=0.5). Variants
    that keep these networks but change the game subclass it and set `d_norm`,
    `spectral_norm`, `defaults` (e.g. their loss) or `conditioning`.

    Example:
    >>> gan = zoo.build("dcgan", image_shape=(64, 64, 3), latent_dim=100)
    """

    d_norm = "batch"  # normalization in D: "batch", "layer" or "none"
    spectral_norm = False  # spectral normalization of D's layers
    defaults: dict = {}  # model arguments this variant changes (e.g. its loss)
    conditional = False  # whether it needs the dataset's class labels (num_classes)

    @classmethod
    def create(
        cls,
        image_shape: tuple[int, int, int],
        latent_dim: int = 100,
        g_width: int = 64,
        d_width: int = 64,
        num_classes: int | None = None,
        **kwargs,
    ) -> "DCGAN":
        """`g_width` is G's last hidden width, `d_width` D's first; both double per scale.

        Other keyword arguments go to the model (losses, tricks; see AdversarialModel).
        """
        model_kwargs = {**cls.defaults, **kwargs}
        g_options, d_options, model_options = cls.conditioning(num_classes, model_kwargs)
        return cls(
            generator=dcgan_generator(latent_dim, image_shape, width=g_width, **g_options),
            discriminator=dcgan_discriminator(
                image_shape,
                width=d_width,
                norm=cls.d_norm,
                spectral_norm=cls.spectral_norm,
                **tricks.discriminator_options(model_kwargs),
                **d_options,
            ),
            latent_dim=latent_dim,
            **model_options,
            **model_kwargs,
        )

    @classmethod
    def conditioning(cls, num_classes: int | None, model_kwargs: dict) -> tuple[dict, dict, dict]:
        """(generator options, discriminator options, more model arguments) for labels or
        codes, given the model arguments already chosen."""
        if num_classes:
            raise ValueError(f"{cls.variant_name} is unconditional. Received: num_classes={num_classes}")
        return {}, {}, {}
