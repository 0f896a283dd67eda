"""The properties every registered variant must have, run on each."""

import pytest

import zoo
from tests import helpers

VARIANTS = zoo.available()
# Critics with a Wasserstein or hinge loss start near 0 and may go negative; their losses
# must fall by a fraction of their own scale: (fraction, floor of the scale).
D_FALL = {"wgan": (0.1, 1e-3), "wgan-gp": (0.05, 1.0), "sngan": (0.1, 1.0), "lsgan": (0.2, 0.1)}
G_FALL = {"wgan": (0.1, 1e-3), "sngan": (0.1, 1e-2)}


def test_all_issue_variants_are_registered():
    assert set(VARIANTS) >= {"gan", "dcgan", "cgan", "acgan", "infogan", "lsgan", "wgan", "wgan-gp", "sngan"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_discriminator_learns(variant):
    fraction, floor = D_FALL.get(variant, (0.2, 1.0))
    helpers.assert_discriminator_learns(helpers.tiny(variant), fraction=fraction, floor=floor)


@pytest.mark.parametrize("variant", VARIANTS)
def test_generator_learns(variant):
    fraction, floor = G_FALL.get(variant, (0.1, 1.0))
    helpers.assert_generator_learns(helpers.tiny(variant), fraction=fraction, floor=floor)


@pytest.mark.parametrize("variant", VARIANTS)
def test_keras_round_trip_after_training(variant, tmp_path):
    helpers.assert_saving_round_trip(helpers.fit_briefly(helpers.tiny(variant)), tmp_path)


@pytest.mark.parametrize("variant", VARIANTS)
def test_export_parity_with_named_inputs(variant, tmp_path):
    model = helpers.fit_briefly(helpers.tiny(variant))
    written = helpers.assert_export_parity(model, tmp_path)
    assert written["variant"] == variant
    assert written["num_classes"] == model.num_classes and written["codes"] == model.codes


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_docstring_cites_its_paper(variant):
    doc = zoo.models.registry.variant_class(variant).__doc__
    assert "et al." in doc or "&" in doc
    assert "20" in doc.splitlines()[0]  # the year, in the first line
