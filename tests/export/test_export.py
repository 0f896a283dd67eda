import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tensorflow as tf

import zoo
from export import artifacts, manifest
from tests import helpers
from zoo.errors import ZooError


@pytest.fixture(scope="module")
def trained():
    """A tiny DCGAN after a few steps, so batch-norm statistics are not at their init."""
    model = helpers.compile_for_test(
        zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=8, g_width=8, d_width=8, seed=0)
    )
    model.fit(helpers.structured_images(64, (28, 28, 1)), batch_size=16, verbose=0)
    return model


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "export"
    return trained, out, artifacts.export_model(trained, out)


def test_manifest_is_the_deployment_contract(exported):
    _, out, written = exported
    read = manifest.read(out)  # verifies every sha256
    assert read == written
    assert read["variant"] == "dcgan" and read["latent_dim"] == 8
    assert read["image_shape"] == [28, 28, 1] and read["value_range"] == [-1.0, 1.0]
    assert read["generator"]["inputs"] == [{"name": "z", "dtype": "float32", "shape": [None, 8]}]
    assert read["generator"]["outputs"][0]["name"] == "image"
    assert read["discriminator"]["inputs"][0]["name"] == "image"
    assert read["discriminator"]["outputs"][0]["name"] == "logit"
    assert read["opset"] == artifacts.OPSET
    assert {"generator.onnx", "discriminator.onnx", "generator/saved_model.pb"} <= set(read["files"])
    for network in ("generator", "discriminator"):
        for diff in read["parity"][network].values():
            assert 0.0 <= diff <= artifacts.PARITY_TOLERANCE


@pytest.mark.parametrize("batch", [1, 7])
def test_onnx_and_saved_model_match_keras_at_any_batch(exported, batch):
    model, out, _ = exported
    z = model.sample_inputs(batch, seed=11)["z"]
    want = model.generator(z, training=False).numpy()

    session = ort.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z"]
    assert [o.name for o in session.get_outputs()] == ["image"]
    (got,) = session.run(["image"], {"z": z})
    np.testing.assert_allclose(got, want, atol=1e-5)

    served = tf.saved_model.load(str(out / "generator")).signatures["serving_default"]
    np.testing.assert_allclose(served(z=tf.constant(z))["image"].numpy(), want, atol=1e-5)

    images = np.clip(want + 0.1, -1, 1)
    d_want = model.discriminator(images, training=False).numpy()
    d_session = ort.InferenceSession(str(out / "discriminator.onnx"))
    np.testing.assert_allclose(d_session.run(["logit"], {"image": images})[0], d_want, atol=1e-5)


def test_onnx_files_pass_the_checker_with_a_dynamic_batch(exported):
    _, out, _ = exported
    for name in ("generator", "discriminator"):
        graph = onnx.load(str(out / f"{name}.onnx"))
        onnx.checker.check_model(graph, full_check=True)
        assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_a_modified_file_fails_verification(exported, tmp_path):
    _, out, _ = exported
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with open(copy / "generator.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ZooError, match=r"generator\.onnx does not match its sha256"):
        manifest.read(copy)
    manifest.read(copy, verify=False)  # the manifest itself is still readable


def test_existing_destination_is_refused_without_replace(exported):
    model, out, _ = exported
    before = json.loads((out / "manifest.json").read_text())
    with pytest.raises(ZooError, match="already exists"):
        artifacts.export_model(model, out)
    assert json.loads((out / "manifest.json").read_text()) == before


def test_parity_failure_writes_nothing(trained, tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "PARITY_TOLERANCE", -1.0)  # nothing can pass
    out = tmp_path / "export"
    with pytest.raises(ZooError, match="differ from Keras"):
        artifacts.export_model(trained, out)
    assert list(tmp_path.iterdir()) == []  # no destination, no staging folder left


def test_replace_swaps_the_folder_atomically(trained, tmp_path):
    out = tmp_path / "export"
    first = artifacts.export_model(trained, out)
    second = artifacts.export_model(trained, out, replace=True)
    assert manifest.read(out) == second
    assert first["files"].keys() == second["files"].keys()
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_a_discriminator_that_scores_each_image_by_its_batch_exports(tmp_path):
    """Minibatch discrimination: batch-1 parity is checked against Keras at batch 1."""
    model = helpers.fit_briefly(helpers.tiny("dcgan", minibatch_discrimination=4))
    written = artifacts.export_model(model, tmp_path / "export")
    parity = written["parity"]
    assert (
        max(parity["discriminator"].values())
        <= artifacts.PARITY_TOLERANCE * parity["output_scale"]["discriminator"]
    )


def test_the_judge_exports_with_its_calibration_folded_in(trained, tmp_path):
    from zoo.evaluation.judge import Judge

    judge = Judge.from_discriminator(trained)
    judge.temperature, judge.threshold = 2.0, 0.3
    out = tmp_path / "export"
    written = artifacts.export_model(trained, out, judge=judge)
    assert written["judge"]["outputs"][0]["name"] == "p_real"
    assert written["judge_calibration"]["temperature"] == 2.0 and "judge.onnx" in written["files"]
    images = trained.generate(6)
    session = ort.InferenceSession(str(out / "judge.onnx"))
    (p_real,) = session.run(["p_real"], {"image": images})
    np.testing.assert_allclose(p_real.ravel(), judge.scores(images), atol=1e-5)


def test_published_artifacts_get_ordinary_permissions(exported, tmp_path):
    # Temp files and folders are private; what is published must be as readable as any
    # file created under the umask, or other users and servers cannot load it.
    import os

    from zoo import contract

    umask = os.umask(0)
    os.umask(umask)
    _, out, _ = exported
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    assert (out / "generator.onnx").stat().st_mode & 0o777 == 0o666 & ~umask
    png = contract.save_png(tmp_path / "grid.png", np.zeros((4, 4, 1), np.uint8))
    assert png.stat().st_mode & 0o777 == 0o666 & ~umask
