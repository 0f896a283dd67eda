"""The generator's LiteRT files: float32 and dynamic-range int8, named inputs, any batch."""

import warnings

import numpy as np
import pytest
import tensorflow as tf

import zoo
from export import artifacts, manifest
from tests import helpers
from zoo.errors import ZooError

VARIANTS = ["dcgan", "cgan", "infogan"]  # inputs: z; z and label; z, code_cat and code_cont


@pytest.fixture(scope="module", params=VARIANTS)
def exported(request, tmp_path_factory):
    """A tiny variant after a few steps (batch-norm statistics off their init), exported."""
    model = helpers.fit_briefly(helpers.tiny(request.param))
    out = tmp_path_factory.mktemp(request.param) / "export"
    return model, out, artifacts.export_model(model, out)


@pytest.fixture(scope="module")
def default_size(tmp_path_factory):
    """The default recipe's generator size, exported after a few steps."""
    model = zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=100, g_width=64, d_width=32, seed=0)
    model = helpers.fit_briefly(helpers.compile_for_test(model), steps=3)
    out = tmp_path_factory.mktemp("default") / "export"
    return model, out, artifacts.export_model(model, out)


@pytest.fixture(scope="module")
def untrained():
    return helpers.tiny("dcgan")


def interpreter(path) -> tf.lite.Interpreter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tf.lite.Interpreter's deprecation notice
        return tf.lite.Interpreter(model_path=str(path))


def run(path, named: dict[str, np.ndarray]) -> np.ndarray:
    """The file's image for named inputs, fed by tensor index after a strict resize: what
    a runtime without signature runners does, and it fails on a fixed batch dimension."""
    lite = interpreter(path)
    runner = lite.get_signature_runner("serving_default")
    inputs = {k: d["index"] for k, d in runner.get_input_details().items()}
    output = runner.get_output_details()["image"]["index"]
    del runner  # the interpreter refuses to resize while a runner holds it
    for name, value in named.items():
        lite.resize_tensor_input(inputs[name], value.shape, strict=True)
    lite.allocate_tensors()
    for name, value in named.items():
        lite.set_tensor(inputs[name], value)
    lite.invoke()
    return lite.get_tensor(output)


def max_diff(a, b) -> float:
    return float(np.max(np.abs(a - b)))


def test_signature_keeps_the_contract_names(exported):
    model, out, written = exported
    names = [s["name"] for s in written["generator"]["inputs"]]
    assert names == [t.name for t in model.sampling_generator.inputs]
    for file in ("generator.tflite", "generator_dynamic_int8.tflite"):
        signature = interpreter(out / file).get_signature_list()
        assert signature == {"serving_default": {"inputs": sorted(names), "outputs": ["image"]}}


@pytest.mark.parametrize("batch", [1, 7])
def test_float_file_matches_keras_at_any_batch(exported, batch):
    model, out, _ = exported
    named = model.sample_inputs(batch, seed=12)
    want = model.generate(batch, inputs=named)
    got = run(out / "generator.tflite", named)
    assert got.shape == want.shape
    assert max_diff(got, want) <= artifacts.PARITY_TOLERANCE
    quantized = max_diff(run(out / "generator_dynamic_int8.tflite", named), want)
    assert 0.0 < quantized <= artifacts.TFLITE_INT8_TOLERANCE  # above 0: the weights really are int8


def test_manifest_lists_the_files_their_sizes_and_parity(exported):
    _, out, written = exported
    read = manifest.read(out)  # verifies every sha256
    assert read == written
    generator = read["generator"]
    assert generator["tflite"] == "generator.tflite"
    assert generator["tflite_dynamic_int8"] == "generator_dynamic_int8.tflite"
    for key in ("tflite", "tflite_dynamic_int8"):
        assert generator[key] in read["files"]
        assert generator[f"{key}_bytes"] == (out / generator[key]).stat().st_size
    assert "tflite" not in read["discriminator"]
    assert 0.0 <= read["parity"]["generator"]["tflite_max_abs_diff"] <= artifacts.PARITY_TOLERANCE
    quantized = read["parity"]["tflite_dynamic_int8"]
    assert quantized["tolerance"] == artifacts.TFLITE_INT8_TOLERANCE
    assert 0.0 < quantized["generator_max_abs_diff"] <= artifacts.TFLITE_INT8_TOLERANCE


def test_default_size_generator_quantizes_to_under_a_third(default_size):
    model, out, written = default_size
    generator = written["generator"]
    # int8 weights are a quarter of float32; biases and batch-norm stay float (measured 0.28).
    assert generator["tflite_dynamic_int8_bytes"] / generator["tflite_bytes"] < 0.35
    # The recorded difference is the one the file gives on the parity inputs.
    arrays = artifacts._parity_inputs(model, "generator", generator["inputs"])
    named = {s["name"]: a for s, a in zip(generator["inputs"], arrays, strict=True)}
    measured = max_diff(run(out / generator["tflite_dynamic_int8"], named), model.generate(16, inputs=named))
    recorded = written["parity"]["tflite_dynamic_int8"]["generator_max_abs_diff"]
    assert recorded == pytest.approx(measured, abs=1e-6)
    assert 0.0 < recorded <= artifacts.TFLITE_INT8_TOLERANCE


def test_quantized_file_beyond_its_bound_writes_nothing(untrained, tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "TFLITE_INT8_TOLERANCE", 0.0)  # any quantization error fails
    with pytest.raises(ZooError, match=r"generator_dynamic_int8\.tflite differs from Keras"):
        artifacts.export_model(untrained, tmp_path / "export")
    assert list(tmp_path.iterdir()) == []  # no destination, no staging folder left


def test_float_file_beyond_parity_tolerance_writes_nothing(untrained, tmp_path, monkeypatch):
    run_tflite = artifacts._run_tflite

    def off_by_a_little(path, inputs, arrays):
        result = run_tflite(path, inputs, arrays)
        return {k: v + (1e-3 if path.name == "generator.tflite" else 0.0) for k, v in result.items()}

    monkeypatch.setattr(artifacts, "_run_tflite", off_by_a_little)
    with pytest.raises(ZooError, match=r"generator\.tflite differs from Keras by 0\.001"):
        artifacts.export_model(untrained, tmp_path / "export")
    assert list(tmp_path.iterdir()) == []
