"""The exported refinement graph is TensorFlow's gradient of the energy in z.

For every variant's G (and the tricks that change a network), with D or a critic as the
judge's scorer, refine.onnx in onnxruntime and the refine SavedModel give the gradient and
the calibrated logit that Python's refinement takes, within the export's parity tolerance:
1e-4 times the largest |value|, itself taken as at least 1 (float32 rounding through G and
the scorer's backward pass; measured at about 1e-6 on the shipped presets).
"""

import numpy as np
import onnxruntime as ort
import pytest
import tensorflow as tf

import zoo
from export import artifacts, onnx_gradients
from tests import helpers
from zoo.errors import ZooError
from zoo.evaluation import refine
from zoo.evaluation.judge import Judge, critic_network

# LSGAN and WGAN are DCGAN with other losses, the same networks: their graph is DCGAN's.
SAME_NETWORKS_AS_DCGAN = ("lsgan", "wgan")
CASES = [(variant, {}) for variant in zoo.available() if variant not in SAME_NETWORKS_AS_DCGAN] + [
    ("dcgan", {"minibatch_discrimination": 4}),
    ("dcgan", {"virtual_batch_norm": 8}),
]


def _judge(model) -> Judge:
    """D as the scorer where it judges images alone, else a fresh critic; its temperature
    brings the raw logits to unit spread, as calibration would (a clipped critic's are tiny)."""
    try:
        judge = Judge.from_discriminator(model)
    except ZooError:
        judge = Judge(critic_network(model.image_shape, 8), info={"source": "critic"})
    judge.temperature, judge.bias = float(np.std(judge.logits(model.generate(64, seed=1)))) + 1e-6, 0.3
    return judge


@pytest.mark.parametrize(
    ("variant", "settings"), CASES, ids=lambda c: c if isinstance(c, str) else "-".join(c)
)
def test_the_exported_gradient_is_tensorflows(variant, settings, tmp_path):
    model = helpers.fit_briefly(helpers.tiny(variant, **settings))
    judge = _judge(model)
    module, inputs, outputs = artifacts.refine_module(model, judge)
    artifacts.write_refine(module, inputs, outputs, tmp_path)
    drawn = model.sample_inputs(9, seed=3)
    want = {k: v.numpy() for k, v in refine.energy_gradient(model, judge)(drawn).items()}
    feed = {spec["name"]: drawn[spec["name"]] for spec in inputs}
    session = ort.InferenceSession(str(tmp_path / "refine.onnx"), providers=["CPUExecutionProvider"])
    from_onnx = dict(zip(["gradient", "logit"], session.run(["gradient", "logit"], feed), strict=True))
    served = tf.saved_model.load(str(tmp_path / "refine")).signatures["serving_default"]
    from_saved_model = {
        k: v.numpy() for k, v in served(**{k: tf.constant(v) for k, v in feed.items()}).items()
    }
    for got in (from_onnx, from_saved_model):
        for name, value in want.items():
            scale = max(1.0, float(np.abs(value).max()))
            np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-4 * scale)
    # The judge's part of the gradient is there (the prior's alone would be z itself).
    assert np.abs(want["gradient"] - drawn["z"]).max() > 1e-4
    # Batch 1 too: the batch dimension is truly dynamic (a minibatch-discriminating D scores
    # an image by its batch, so the reference is taken at batch 1 as well).
    single = session.run(["gradient"], {k: v[:1] for k, v in feed.items()})[0]
    want = refine.energy_gradient(model, judge)({k: v[:1] for k, v in drawn.items()})["gradient"].numpy()
    np.testing.assert_allclose(single, want, rtol=0, atol=1e-4 * max(1.0, np.abs(want).max()))


def test_the_variants_left_out_share_dcgans_networks():
    from zoo.models.variants.dcgan import DCGAN

    for variant in SAME_NETWORKS_AS_DCGAN:
        cls = zoo.models.registry.variant_class(variant)
        assert issubclass(cls, DCGAN) and cls.d_norm == DCGAN.d_norm and not cls.spectral_norm
        for method in ("create", "conditioning"):  # what builds the networks: DCGAN's own
            assert getattr(cls, method).__func__ is getattr(DCGAN, method).__func__, (variant, method)


def test_a_gradient_op_without_an_onnx_form_is_named(tmp_path, monkeypatch):
    model = helpers.tiny("dcgan")
    module, inputs, outputs = artifacts.refine_module(model, _judge(model))
    monkeypatch.setattr(onnx_gradients, "HANDLERS", {})
    with pytest.raises(ZooError, match=r"no form for the TensorFlow ops .*ReluGrad.*--no-refine"):
        artifacts.write_refine(module, inputs, outputs, tmp_path)
    assert not (tmp_path / "refine.onnx").exists()
