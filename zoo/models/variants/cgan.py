"""Conditional GAN: the class label feeds both G and D."""

import keras

from zoo.models.registry import register_variant
from zoo.models.variants.dcgan import DCGAN


@register_variant("cgan")
class CGAN(DCGAN):
    """Conditional GAN (Mirza & Osindero 2014, arXiv:1411.1784).

    G embeds the label and joins it to z; D sees the label as an extra image channel.
    Each fake is made for the label of a real example in its minibatch, so G's classes
    follow the data's. Sampling and export take an int32 `label` beside `z`; a sample grid
    has one column per class.

    Args:
        num_classes: number of classes of the labels.

    Example:
    >>> gan = zoo.build("cgan", image_shape=(28, 28, 1), num_classes=10)
    >>> shirts = gan.generate(8, inputs={"z": z, "label": np.full(8, 6, "int32")})
    """

    conditional = True

    def __init__(self, generator, discriminator, num_classes: int, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.num_classes = int(num_classes)

    @classmethod
    def conditioning(cls, num_classes, model_kwargs):
        if not num_classes:
            raise ValueError(f"{cls.variant_name} needs num_classes. Received: num_classes={num_classes}")
        return (
            {"num_classes": num_classes},
            {"num_classes": num_classes},
            {"num_classes": num_classes},
        )

    def discriminator_inputs(self, images, labels):
        return {"image": images, "label": labels}

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def class_cross_entropy(logits, labels):
    """Per-example softmax cross-entropy of class logits (B, C) against int labels (B,)."""
    return keras.ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
