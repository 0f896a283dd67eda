"""The original GAN: MLP generator and discriminator (Goodfellow et al. 2014)."""

from zoo.models import tricks
from zoo.models.adversarial import AdversarialModel
from zoo.models.networks import mlp_discriminator, mlp_generator
from zoo.models.registry import register_variant


@register_variant("gan")
class GAN(AdversarialModel):
    """Generative Adversarial Nets (Goodfellow et al. 2014, arXiv:1406.2661).

    Fully connected G (ReLU, tanh output) and D (LeakyReLU, dropout). The paper's
    saturating objective is `loss="minimax"`; the default is the non-saturating
    generator loss the paper recommends in practice. Momentum SGD, as in the paper,
    is a recipe choice (`optimizer="sgd"`).

    Example:
    >>> gan = zoo.build("gan", image_shape=(28, 28, 1), latent_dim=100)
    """

    conditional = False

    @classmethod
    def create(
        cls,
        image_shape: tuple[int, int, int],
        latent_dim: int = 100,
        g_width: int = 256,
        d_width: int = 256,
        d_dropout: float = 0.3,
        g_batch_norm: bool = False,
        **kwargs,
    ) -> "GAN":
        """G's hidden layers are (w, 2w, 4w); D's mirror them (4w, 2w, w)."""
        g_hidden = (g_width, 2 * g_width, 4 * g_width)
        return cls(
            generator=mlp_generator(latent_dim, image_shape, hidden=g_hidden, batch_norm=g_batch_norm),
            discriminator=mlp_discriminator(
                image_shape,
                hidden=(4 * d_width, 2 * d_width, d_width),
                dropout=d_dropout,
                **tricks.discriminator_options(kwargs),
            ),
            latent_dim=latent_dim,
            **kwargs,
        )
