import keras
import numpy as np
import pytest
import tensorflow as tf

from export import artifacts
from recipes import scale
from tests import helpers
from zoo.errors import ZooError


def test_strategy_choice(monkeypatch):
    assert scale.make_strategy("auto") is tf.distribute.get_strategy()  # one CPU: no wrapper
    assert scale.device_type(scale.make_strategy("one-device")) == "cpu"
    with pytest.raises(ZooError, match="unknown strategy"):
        scale.make_strategy("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ZooError, match="TF_CONFIG"):
        scale.make_strategy("multi-worker")
    for broken in (
        "not json",
        '{"cluster": {"worker": ["localhost:1"]}}',
        '{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}',
        '{"cluster": {}, "task": {"type": "chief"}}',
    ):
        monkeypatch.setenv("TF_CONFIG", broken)
        with pytest.raises(ZooError, match="TF_CONFIG is not a cluster and a task in it"):
            scale.make_strategy("multi-worker")
    # A valid cluster, but this process has run TensorFlow already: one clear line, not a
    # traceback (a fresh worker process trains: tests/recipes/test_multi_worker.py).
    monkeypatch.setenv(
        "TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}}'
    )
    tf.zeros(1).numpy()  # TensorFlow has run an op in this process
    with pytest.raises(ZooError, match="cannot start the multi-worker strategy at localhost:1: Collective"):
        scale.make_strategy("multi-worker")


def test_precision_and_xla_defaults_by_device():
    assert scale.mixed_precision_policy("gpu") == "mixed_float16"
    assert scale.mixed_precision_policy("tpu") == "mixed_bfloat16"
    if scale.cpu_has_bfloat16():
        assert scale.mixed_precision_policy("cpu") == "mixed_bfloat16"
    else:
        with pytest.raises(ZooError, match="bfloat16"):
            scale.mixed_precision_policy("cpu")
    assert scale.default_jit("cpu") is False and scale.default_jit("gpu") is True
    assert scale.default_mixed_precision("cpu") is scale.cpu_has_bfloat16()
    assert not scale.default_mixed_precision("gpu") and not scale.default_mixed_precision("tpu")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_logits_losses_and_weights_float32(policy, tmp_path):
    with scale.Precision(policy):
        model = helpers.tiny("dcgan")
    assert model.discriminator.layers[1].compute_dtype != "float32"  # the body computes in 16 bits
    assert model.discriminator.outputs[0].dtype == "float32" and model.generator.outputs[0].dtype == "float32"
    assert all(w.dtype == "float32" for w in model.trainable_weights)
    real, _ = helpers.real_batch(model, n=16)
    logs = model.train_on_batch(real, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    written = artifacts.export_model(model, tmp_path / "export")  # exported as float32 networks
    assert max(written["parity"]["generator"].values()) <= artifacts.PARITY_TOLERANCE


def test_loss_scaling_is_undone_in_the_reported_gradient_norm():
    with scale.Precision("mixed_float16"):
        scaled = helpers.tiny("dcgan")
        scaled.compile(
            d_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.0)),
            g_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.0)),
        )
    real, _ = helpers.real_batch(scaled, n=16)
    logs = scaled.train_on_batch(real, return_dict=True)
    assert float(scaled.d_optimizer.dynamic_scale) > 1000  # the loss really was scaled
    assert 1e-3 < logs["d_grad_norm"] < 1e3  # ... and the norm reported is the true one


def test_float32_copy_reaches_networks_nested_in_a_network():
    # A judge trained in bfloat16 wraps D's layers in a nested network: each must come back
    # float32, or onnxruntime refuses the graph (its Conv has no bfloat16 kernel).
    with scale.Precision("mixed_bfloat16"):
        d = helpers.tiny("dcgan").discriminator
    inner = keras.Model(d.input, d.outputs[0], name="scorer")  # as zoo.evaluation.judge wraps D, in float32
    image = keras.Input(inner.inputs[0].shape[1:], name="image")
    outer = keras.Model(image, keras.layers.Activation("sigmoid", dtype="float32")(inner(image)))
    assert outer.layers[1].dtype_policy.name == "float32"  # the nested network's own policy hides its layers'
    copy = artifacts.float32_copy(outer)
    leaves = [leaf for layer in copy.layers if isinstance(layer, keras.Model) for leaf in layer.layers]
    assert leaves and all(leaf.dtype_policy.name == "float32" for leaf in leaves)
    x = np.random.default_rng(0).uniform(-1, 1, (4, *inner.inputs[0].shape[1:])).astype(np.float32)
    np.testing.assert_allclose(copy(x).numpy(), outer(x).numpy(), atol=0.02)  # same weights
