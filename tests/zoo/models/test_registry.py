import pytest

import zoo
from zoo.models.variants.dcgan import DCGAN
from zoo.models.variants.gan import GAN


def test_available_and_build():
    assert {"gan", "dcgan"} <= set(zoo.available())
    assert isinstance(zoo.build("dcgan", image_shape=(32, 32, 3), latent_dim=8, g_width=8), DCGAN)
    assert isinstance(zoo.build("gan", image_shape=(28, 28, 1), g_width=8, d_width=8), GAN)


def test_unknown_variant_names_the_available_ones():
    with pytest.raises(zoo.ZooError, match=r"available: .*dcgan"):
        zoo.build("stylegan9", image_shape=(28, 28, 1))


def test_a_name_registers_once():
    with pytest.raises(ValueError, match="twice"):
        zoo.register_variant("dcgan")(type("Other", (zoo.AdversarialModel,), {}))
