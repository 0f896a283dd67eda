"""Every variant builds, trains and exports at every supported size, in gray and in colour:
the depth of G and D follows from the size, and one step moves both networks."""

import keras
import numpy as np
import pytest

import zoo
from tests import helpers

SIZES = (28, 32, 64, 128)
VARIANTS = zoo.available()


def channels_for(variant: str, side: int) -> int:
    """Gray or colour, alternating over sizes and variants: every variant meets both, and
    every size meets both across the variants."""
    return 3 if (VARIANTS.index(variant) + SIZES.index(side)) % 2 else 1
# One export with parity per size, each with another variant (every variant exports at
# 28x28x1 in test_common).
EXPORTS = [("cgan", 32, 3), ("infogan", 64, 1), ("wgan-gp", 128, 3), ("gan", 28, 3)]


def build(variant: str, side: int, channels: int):
    conditional = zoo.models.registry.variant_class(variant).conditional
    kwargs = {"num_classes": helpers.NUM_CLASSES} if conditional else {}
    model = zoo.build(variant, image_shape=(side, side, channels), latent_dim=8, g_width=4, d_width=4, seed=0,
                      **kwargs)  # fmt: skip
    return helpers.compile_for_test(model)


def strided_convs(network: keras.Model) -> int:
    return sum(isinstance(getattr(layer, "layer", layer), (keras.layers.Conv2D, keras.layers.Conv2DTranspose))
               for layer in network.layers)  # fmt: skip


def test_every_size_meets_both_colour_modes():
    assert {(side, channels_for(v, side)) for v in VARIANTS for side in SIZES} == {
        (side, c) for side in SIZES for c in (1, 3)
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_size_builds_and_one_step_moves_both_networks(variant):
    for side in SIZES:
        channels = channels_for(variant, side)
        model = build(variant, side, channels)
        assert model.image_shape == (side, side, channels)
        real, labels = helpers.real_tensors(model, n=4 * model.d_steps)
        g_before = [w.numpy().copy() for w in model.generator.trainable_variables]
        d_before = [w.numpy().copy() for w in model.discriminator.trainable_variables]
        metrics = model.train_step(real if labels is None else (real, labels))
        assert all(np.isfinite(float(v)) for v in metrics.values()), (variant, side, metrics)
        for before, network in ((g_before, model.generator), (d_before, model.discriminator)):
            moved = [not np.array_equal(a, b.numpy()) for a, b in zip(before, network.trainable_variables,
                                                                      strict=True)]  # fmt: skip
            assert sum(moved) >= len(moved) // 2, (variant, side, network.name)
        images = model.generate(2, seed=0)
        assert images.shape == (2, side, side, channels) and np.abs(images).max() <= 1.0
        if variant != "gan":  # 28 halves twice (to 7), 32 three times, 64 four, 128 five
            halvings = {28: 2, 32: 3, 64: 4, 128: 5}[side]
            assert strided_convs(model.generator) == halvings
            assert strided_convs(model.discriminator) == halvings


@pytest.mark.parametrize("variant, side, channels", EXPORTS)
def test_export_parity_at_other_sizes(variant, side, channels, tmp_path):
    model = build(variant, side, channels)
    real, labels = helpers.real_tensors(model, n=4 * model.d_steps)
    model.train_step(real if labels is None else (real, labels))
    written = helpers.assert_export_parity(model, tmp_path)
    assert written["image_shape"] == [side, side, channels]
