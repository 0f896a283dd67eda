"""One module per GAN variant; importing this package registers them all."""

from zoo.variants import dcgan, gan  # noqa: F401
