"""One module per GAN variant; importing this package registers them all."""

from zoo.models.variants import acgan, cgan, dcgan, gan, infogan, lsgan, sngan, wgan, wgan_gp  # noqa: F401
