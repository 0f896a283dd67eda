"""The named recipes: each variant with the settings it was tuned or published with."""

import dataclasses

from recipes.recipe import ClassifierRecipe, Recipe
from zoo.errors import ZooError

DEFAULT_RECIPE = "dcgan-fashion-mnist"


CLASSIFIER_RECIPES = {
    r.name: r
    for r in [
        ClassifierRecipe("classifier-fashion-mnist", "fashion_mnist", "feature extractor for the metrics"),
        ClassifierRecipe("classifier-mnist", "mnist", "feature extractor for the metrics", epochs=4),
        ClassifierRecipe("classifier-noto-emoji", "noto_emoji", "feature extractor for the emoji metrics",
                         epochs=30),
    ]
}


def _recipes(*recipes: Recipe) -> dict[str, Recipe]:
    return {r.name: r for r in recipes}


_DCGAN = dict(g_width=64, d_width=64)  # the DCGAN networks at their usual width
# What buys quality in a CPU budget, measured on the default DCGAN (docs/measurements.md,
# "How the default was chosen"): batch 64 and a D half as wide make ~2.8x the steps of batch
# 128 / width 64 in the same time, and an EMA of G samples better on long runs.
_BUDGET = dict(g_width=64, d_width=32, batch_size=64, ema_decay=0.999)
# Optimizers as each paper trains.
_WGAN = dict(optimizer="rmsprop", g_lr=5e-5, d_lr=5e-5)
_WGAN_GP = dict(g_lr=1e-4, d_lr=1e-4, beta_1=0.0, beta_2=0.9)
_INFOGAN = dict(latent_dim=62, g_lr=1e-3, d_lr=2e-4)


def _paper(recipe: Recipe, **settings) -> Recipe:
    """The paper's settings for a tuned Fashion-MNIST recipe, kept beside it as `<name>-paper`."""
    settings.setdefault("description", f"{recipe.description}, the paper's settings")
    return dataclasses.replace(recipe, name=f"{recipe.name}-paper", **settings)


# The Fashion-MNIST recipes are tuned for quality in 900 s on a 2-core CPU (docs/zoo.md);
# each comment says what was tried. Every one ships trained in presets/.
# The budget settings with one-sided smoothing 0.1: 10,308 G steps in 900 s, FD 13.4, label
# accuracy 0.893 (the classifier's own: 0.922).
_CGAN = Recipe("cgan-fashion-mnist", "cgan", "fashion_mnist", "conditional GAN, the label feeds G and D",
               label_smoothing=0.1, **_BUDGET)
# The paper's settings (batch 128, D width 64, no EMA): 4,110 G steps in 900 s, FD 36.6, label
# accuracy 0.898. Tried: the budget settings with smoothing 0.1 collapsed (G ignored z, one
# image per label: FD 253, label accuracy 0.30); budget settings with D width 64 and no
# smoothing: FD 36.4 but label accuracy 0.877. Its preset was trained as
# acgan-fashion-mnist-paper, the same settings under the name they had then.
# D's class head learns real images' classes only (classify_fakes False): with the paper's
# head, which also learns the labels fakes were drawn for, 3,600 s made FD 14.7 but classes
# traded shapes (bags drawn for "sandal" and heels for "bag", label accuracy 0.824); real
# only, the same 3,600 s: FD 8.9, label accuracy 0.979; its shipped preset, from a clean
# checkout on a slower day: 22,037 steps, FD 10.5, label accuracy 0.977 (docs/zoo.md).
_ACGAN = Recipe("acgan-fashion-mnist", "acgan", "fashion_mnist", "auxiliary-classifier GAN",
                classify_fakes=False, **_DCGAN)
_INFOGAN_FM = Recipe("infogan-fashion-mnist", "infogan", "fashion_mnist",
                     "InfoGAN: 10-way categorical + 2 continuous codes", **{**_BUDGET, **_INFOGAN})
# The budget settings: 10,308 G steps in 900 s, FD 75.7 (the paper's optimizer is DCGAN's).
_LSGAN = Recipe("lsgan-fashion-mnist", "lsgan", "fashion_mnist", "least-squares GAN", **_BUDGET)
# n_critic 5 and Adam's betas (0, 0.9) as in the paper, at 3x its learning rate (3e-4 for
# both), with the budget's sizes: 2,176 G steps in 900 s, FD 87.2, 10 classes. Tried: the
# paper's 1e-4, FD 148.8 (8 classes) with layer norm over channels only and 132.8 (9 classes)
# with layer norm over each example's units, as now; n_critic 2 with TTUR (D 3e-4, G 1e-4),
# FD 152.5 (docs/zoo.md). Its preset trains for 3,600 s (Makefile, LONG_PRESETS): 16,796 G
# steps, FD 26.7 (43.8 at 1,800 s).
_WGAN_GP_FM = Recipe("wgan-gp-fashion-mnist", "wgan-gp", "fashion_mnist", "WGAN with gradient penalty",
                     **{**_WGAN_GP, **_BUDGET, "g_lr": 3e-4, "d_lr": 3e-4})

# Weight clipping and n_critic 5 stay; the clip bound at 0.1 (the paper's 0.01 bounds only the
# scale of a critic whose batch norm undoes it, and makes RMSprop's steps large beside it) and
# RMSprop at 5e-4, with the budget's sizes: 2,993 G steps in 900 s, FD 90.0, 10 classes.
# Tried with clip 0.01: RMSprop 2e-4, FD 206.1, 7 classes; 5e-4, FD 187.7, 7 classes; 2e-4
# with D width 64, FD 228.2, 5 classes (docs/zoo.md).
_WGAN_FM = Recipe("wgan-fashion-mnist", "wgan", "fashion_mnist", "Wasserstein GAN, clipping, n_critic 5",
                  **{**_WGAN, **_BUDGET, "g_lr": 5e-4, "d_lr": 5e-4, "weight_clip": 0.1})
# No dropout in D and a light R1 penalty (gamma 0.1) against the MLP GAN's collapse, with
# batch 64, an EMA of G and one-sided smoothing 0.1, in float32: 35,158 G steps in 1,800 s on
# one core, FD 38.3, recall 0.19, 10 classes. D's dropout (the paper's 0.3) hid G's speckle
# from it: with dropout, R1 gamma 1 (no noise) reached FD 63.8, gamma 10 73.6; without it,
# gamma 1 50.8. Tried, all 1,800 s: the earlier instance noise (stddev 0.2 annealed over
# 10,000 G steps; shipped at 900 s, FD 60.2), FD 67.9 at 1,800 s and 64.3 annealed over
# 40,000; batch norm in G (g_batch_norm, R1 gamma 1, dropout), 65.0; EMA 0.9999 (no dropout,
# gamma 1), 47.5; minibatch discrimination, collapsed (900 s, FD 455.9, 3 classes).
# float32: in bfloat16 its dense layers ran at 834 images/s against 1,373 in float32 on one
# core (AMX), and 1,800 s of it ended at FD 63.3 with 9 classes (docs/zoo.md).
_GAN_MLP_FM = Recipe("gan-mlp-fashion-mnist", "gan", "fashion_mnist", "MLP GAN with Adam and the R1 penalty",
                     g_width=256, d_width=256, d_dropout=0.0, batch_size=64, ema_decay=0.999,
                     label_smoothing=0.1, r1_gamma=0.1, mixed_precision=False)

# Adam at 6e-4 for both nets (betas 0 and 0.9, as SAGAN/BigGAN train spectrally normalized
# nets) at the budget's sizes: 6,809 G steps in 900 s, FD 78.1, 10 classes. Tried: the paper's
# Adam(2e-4, 0.5) at the budget's sizes, FD 124.9; TTUR D 4e-4, G 1e-4, FD 120.7, with D width
# 64, 130.9, with n_dis 2, 129.0; TTUR D 6e-4, G 3e-4, FD 93.4; D 8e-4, G 4e-4, FD 104.6; the
# paper's deeper "standard CNN" D (3x3 stride-1 convs between the strided ones), FD 199.5 at
# width 32 and 144.5 at width 16: too slow here. (Those runs had Keras' spectral normalization,
# which does not differentiate through sigma; with the paper's (zoo.models.layers), 1,800 s in
# bfloat16: FD 29.9 against 59.0.)
_SNGAN_FM = Recipe("sngan-fashion-mnist", "sngan", "fashion_mnist", "spectrally normalized D, hinge loss",
                   **{**_BUDGET, "d_lr": 6e-4, "g_lr": 6e-4, "beta_1": 0.0, "beta_2": 0.9})

# Noto emoji (zoo.data.noto_emoji): 3,078 training images at 64x64 RGB, the data-efficient
# case. Tuned for 1,800 s on one core (docs/emoji.md): networks half DCGAN's width (a CPU
# makes ~140 images/s of them), Adam at 5e-4 for both nets (2e-4 left G far behind: FD 1,204
# against 303 at equal time), an EMA of G and one-sided smoothing 0.1. DiffAugment cost a
# third of the steps and did not pay back in 600 s (FD 1,344 with translation, 1,412 with
# all three policies, against 1,204 without).
_EMOJI = dict(g_width=32, d_width=32, batch_size=64, ema_decay=0.999, label_smoothing=0.1, g_lr=5e-4,
              d_lr=5e-4, epochs=1000)  # fmt: skip
_DCGAN_EMOJI = Recipe("dcgan-noto-emoji", "dcgan", "noto_emoji", "DCGAN on 64x64 colour emoji", **_EMOJI)
# AC-GAN with these settings collapsed to one image per category at 2e-4 (FD 3,695, recall 0).
# cGAN with them, for 1,800 s, collapsed within three small categories (Smileys, Symbols,
# Flags: 131-218 training images each, one image per label); DiffAugment's translation and
# cutout are there to keep D from memorizing them.
_CGAN_EMOJI = Recipe("cgan-noto-emoji", "cgan", "noto_emoji", "conditional GAN on 64x64 colour emoji",
                     **{**_EMOJI, "diff_augment": "translation,cutout"})

RECIPES: dict[str, Recipe] = _recipes(
    Recipe("gan-mlp-mnist", "gan", "mnist", "Goodfellow et al.'s MLP GAN, momentum SGD as in the paper",
           g_width=256, d_width=256, optimizer="sgd", g_lr=0.02, d_lr=0.02, momentum=0.7, batch_size=100,
           epochs=50),
    _GAN_MLP_FM,
    _paper(_GAN_MLP_FM, batch_size=128, ema_decay=0.0, label_smoothing=0.0, d_dropout=0.3, r1_gamma=0.0,
           epochs=30, description="MLP GAN with Adam, untuned"),
    # Tuned for sample quality per CPU minute (docs/measurements.md): batch 64 and a D half as
    # wide give ~2.8x the steps of batch 128 / width 64 in the same time, and a better FD.
    Recipe("dcgan-fashion-mnist", "dcgan", "fashion_mnist", "DCGAN (the default recipe)",
           label_smoothing=0.1, **_BUDGET),
    Recipe("dcgan-cifar10", "dcgan", "cifar10", "DCGAN on 32x32 RGB", epochs=50, **_DCGAN),
    Recipe("dcgan-celeba-64", "dcgan", "celeb_a", "DCGAN on faces cropped to 64x64, as in the paper",
           **_DCGAN),
    _CGAN,
    _paper(_CGAN, label_smoothing=0.0, ema_decay=0.0, batch_size=128, **_DCGAN),
    Recipe("cgan-mnist", "cgan", "mnist", "conditional GAN on the paper's MNIST", **_DCGAN),
    _ACGAN,
    _paper(_ACGAN, classify_fakes=True),
    Recipe("acgan-cifar10", "acgan", "cifar10", "auxiliary-classifier GAN on the paper's CIFAR-10",
           epochs=50, **_DCGAN),
    _INFOGAN_FM,
    _paper(_INFOGAN_FM, ema_decay=0.0, batch_size=128, **_DCGAN),
    Recipe("infogan-mnist", "infogan", "mnist", "InfoGAN on the paper's MNIST", **_INFOGAN, **_DCGAN),
    _LSGAN,
    _paper(_LSGAN, ema_decay=0.0, batch_size=128, **_DCGAN),
    Recipe("lsgan-cifar10", "lsgan", "cifar10", "least-squares GAN on CIFAR-10", epochs=50, **_DCGAN),
    _WGAN_FM,
    _paper(_WGAN_FM, ema_decay=0.0, batch_size=128, weight_clip=None, **_WGAN, **_DCGAN),
    Recipe("wgan-cifar10", "wgan", "cifar10", "Wasserstein GAN on CIFAR-10", epochs=50, **_WGAN, **_DCGAN),
    _WGAN_GP_FM,
    _paper(_WGAN_GP_FM, ema_decay=0.0, batch_size=128, **_WGAN_GP, **_DCGAN),
    Recipe("wgan-gp-cifar10", "wgan-gp", "cifar10", "WGAN-GP on the paper's CIFAR-10", epochs=50,
           **_WGAN_GP, **_DCGAN),
    _SNGAN_FM,
    _paper(_SNGAN_FM, ema_decay=0.0, batch_size=128, g_lr=2e-4, d_lr=2e-4, beta_1=0.5, beta_2=0.999,
           **_DCGAN),
    Recipe("sngan-cifar10", "sngan", "cifar10", "SNGAN on the paper's CIFAR-10", epochs=50, **_DCGAN),
    _DCGAN_EMOJI,
    _CGAN_EMOJI,
)  # fmt: skip


def get(name: str) -> "Recipe | ClassifierRecipe":
    if name in CLASSIFIER_RECIPES:
        return CLASSIFIER_RECIPES[name]
    if name not in RECIPES:
        raise ZooError(f"unknown recipe {name!r}; available: {', '.join([*RECIPES, *CLASSIFIER_RECIPES])}")
    return RECIPES[name]


