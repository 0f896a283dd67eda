"""Auxiliary-classifier GAN: D also tells which class an image is."""

from zoo.models.registry import register_variant
from zoo.models.variants.cgan import CGAN, class_cross_entropy


@register_variant("acgan")
class ACGAN(CGAN):
    """Auxiliary Classifier GAN (Odena et al. 2017, arXiv:1610.09585).

    G is conditioned on the label as in cGAN; D sees only the image and has a second
    head, `class_logits`. Both players also minimise the class cross-entropy: D on real
    and fake images, G on its fakes (the paper's L_C). Export adds `class_logits` to D.

    Args:
        aux_weight: weight of the class cross-entropy in both losses.
        classify_fakes: D's class head also learns the labels G's samples were drawn for,
            as in the paper. Off, it learns real images' classes only: a head that learns
            fakes' labels can learn that a fake bag drawn for "sandal" is a sandal, and then
            rewards G for it, so classes can trade shapes (seen on Fashion-MNIST: docs/zoo.md).
    """

    def __init__(
        self,
        generator,
        discriminator,
        num_classes: int,
        aux_weight: float = 1.0,
        classify_fakes: bool = True,
        **kwargs,
    ):
        super().__init__(generator, discriminator, num_classes, **kwargs)
        self.aux_weight = float(aux_weight)
        self.classify_fakes = bool(classify_fakes)

    @classmethod
    def conditioning(cls, num_classes, model_kwargs):
        g_options, _, model_options = super().conditioning(num_classes, model_kwargs)
        return g_options, {"heads": {"class_logits": num_classes}}, model_options

    def discriminator_inputs(self, images, labels):
        return {"image": images}

    def discriminator_aux_loss(self, real_extras, fake_extras, labels, g_inputs):
        real_ce = class_cross_entropy(real_extras[0], labels)
        if not self.classify_fakes:
            return self.aux_weight * real_ce
        fake_ce = class_cross_entropy(fake_extras[0], g_inputs["label"])
        return self.aux_weight * (real_ce + fake_ce)

    def generator_aux_loss(self, fake_extras, labels, g_inputs):
        return self.aux_weight * class_cross_entropy(fake_extras[0], g_inputs["label"])

    def get_config(self):
        return {**super().get_config(), "aux_weight": self.aux_weight, "classify_fakes": self.classify_fakes}
