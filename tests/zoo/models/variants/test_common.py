"""The properties every registered variant must have, run on each."""

import onnx
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
    """SavedModel and ONNX match Keras, and G's ONNX file has its transposed convolutions as
    phase convolutions and its label lookups without index arithmetic (the rewrites on
    graphs made up to test them: tests/export/test_onnx_phases.py)."""
    model = helpers.fit_briefly(helpers.tiny(variant))
    written = helpers.assert_export_parity(model, tmp_path)
    assert written["variant"] == variant
    assert written["num_classes"] == model.num_classes and written["codes"] == model.codes
    generator = model.sampling_generator
    transposed = sum("conv2d_transpose" in layer.name for layer in generator.layers)
    lookups = sum(str(t.dtype).startswith("int") for t in generator.inputs)  # a label, a categorical code
    assert (transposed > 0) == (variant != "gan")  # the MLP GAN's G has none
    rewritten = written["generator"].get("onnx_rewrite") or {}
    assert rewritten.get("layers", 0) == transposed and rewritten.get("label_gathers", 0) == lookups
    assert written["parity"]["generator"]["onnx_max_abs_diff"] < 1e-5
    ops = {n.op_type for n in onnx.load(str(tmp_path / "export" / "generator.onnx")).graph.node}
    assert "ConvTranspose" not in ops and ("DepthToSpace" in ops) == (transposed > 0)
    assert "Transpose" not in ops or not transposed


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_docstring_cites_its_paper(variant):
    doc = zoo.models.registry.variant_class(variant).__doc__
    assert "et al." in doc or "&" in doc
    assert "20" in doc.splitlines()[0]  # the year, in the first line
