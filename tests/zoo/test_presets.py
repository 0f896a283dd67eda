"""Presets and runs load through one mechanism; presets have keras-hub's layout, store float16
weights and refuse damage."""

import json
import shutil
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import zoo
from tests import helpers
from zoo import presets
from zoo.errors import ZooError
from zoo.files import save_keras, write_json
from zoo.models import saving

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "before_layout"


def config_for(variant: str) -> dict:
    return {"name": f"{variant}-test", "variant": variant, "dataset": "fashion_mnist"}


@pytest.fixture(scope="module", params=["dcgan", "cgan", "infogan"])
def trained(request, tmp_path_factory):
    """(model, preset folder) for a briefly trained variant with an EMA of G."""
    model = helpers.fit_briefly(helpers.tiny(request.param, ema_decay=0.9))
    out = tmp_path_factory.mktemp("presets") / f"{request.param}-test"
    card = {"note": "written by the test"}
    presets.save_preset(model, out, config_for(request.param), card=card)
    return model, out


def test_a_preset_is_the_sampled_generator_and_d_in_float16(trained):
    model, out = trained
    preset = presets.locate(out)
    assert preset.kind == "preset" and preset.name == out.name
    assert preset.card["note"] == "written by the test"
    with h5py.File(out / saving.WEIGHTS["generator"]) as f:
        dtypes = set()
        f.visititems(lambda _, o: dtypes.add(o.dtype) if isinstance(o, h5py.Dataset) else None)
    assert np.dtype("float16") in dtypes and np.dtype("float32") not in dtypes

    loaded = preset.model()
    assert type(loaded) is type(model) and not loaded.compiled
    # G users sample from is the EMA; rounding to float16 is all that differs.
    for network in ("sampling_generator", "discriminator"):
        pairs = zip(getattr(loaded, network).weights, getattr(model, network).weights, strict=True)
        for got, want in pairs:
            got, want = keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want)
            np.testing.assert_array_equal(got, want.astype(np.float16).astype(want.dtype))
    samples, reference = loaded.generate(8, seed=3), model.generate(8, seed=3)
    assert 0 < np.max(np.abs(samples - reference)) < 0.05


def test_from_preset_takes_a_folder_and_the_loaded_model_fine_tunes(trained):
    model, out = trained
    loaded = zoo.from_preset(out)
    fresh = helpers.tiny(type(model).variant_name, ema_decay=0.9)
    presets.locate(out).load_weights_into(fresh)
    for a, b in zip(fresh.generator_ema.weights, loaded.generator.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    before = [keras.ops.convert_to_numpy(w) for w in fresh.generator.trainable_weights]
    helpers.fit_briefly(fresh, steps=2)
    after = [keras.ops.convert_to_numpy(w) for w in fresh.generator.trainable_weights]
    assert any(np.abs(a - b).max() > 0 for a, b in zip(before, after, strict=True))


def test_a_run_directory_loads_through_the_same_locate(tmp_path):
    model = helpers.tiny("dcgan")
    save_keras(model, tmp_path / "final.keras")
    write_json(tmp_path / "config.json", config_for("dcgan"))
    run = presets.locate(tmp_path)
    assert run.kind == "run" and run.dataset == "fashion_mnist" and run.judge() is None
    np.testing.assert_allclose(run.model().generate(4), model.generate(4), atol=1e-6)


def test_saving_over_an_existing_preset_needs_replace(trained):
    model, out = trained
    with pytest.raises(ZooError, match="already exists"):
        presets.save_preset(model, out, config_for("dcgan"))
    assert not list(out.parent.glob(".*tmp-*"))


def one_line(match: str, call):
    with pytest.raises(ZooError, match=match) as raised:
        call()
    assert "\n" not in str(raised.value)


def test_unknown_names_and_damaged_presets_are_one_line_errors(trained, tmp_path):
    _, out = trained
    one_line("not a run directory, a preset folder or a shipped preset", lambda: zoo.from_preset("no-such"))
    one_line("has no final.keras; train it first", lambda: presets.locate(tmp_path))

    def damaged(edit) -> str:
        copy = tmp_path / "copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(out, copy)
        edit(copy)
        return copy

    flipped = damaged(lambda p: p.joinpath(saving.WEIGHTS["generator"]).write_bytes(b"not weights"))
    one_line("does not match its sha256", lambda: presets.locate(flipped).model())
    missing = damaged(lambda p: p.joinpath(saving.WEIGHTS["discriminator"]).unlink())
    one_line("is missing", lambda: presets.locate(missing).model())
    not_json = damaged(lambda p: p.joinpath(saving.METADATA).write_text("{"))
    one_line("is not valid JSON", lambda: presets.locate(not_json))
    other_format = damaged(lambda p: p.joinpath(saving.METADATA).write_text('{"format": "x", "files": {}}'))
    one_line("is not a gan-zoo-preset/2 metadata file", lambda: presets.locate(other_format))
    no_dataset = damaged(lambda p: p.joinpath(presets.RECIPE).write_text('{"name": "x", "dataset": "nope"}'))
    one_line("is not a complete recipe", lambda: presets.locate(no_dataset))


def test_a_model_config_that_would_run_code_is_refused(trained, tmp_path):
    _, out = trained
    copy = tmp_path / "lambda"
    shutil.copytree(out, copy)
    image = keras.Input((2,))
    lambda_model = keras.Model(image, keras.layers.Lambda(lambda x: x * 2)(image))
    write_json(copy / saving.CONFIG, keras.saving.serialize_keras_object(lambda_model))
    presets.rehash(presets.locate(copy))  # re-signed to match: the class check still refuses it
    one_line("describes 'Functional', not a gan-zoo GAN", lambda: presets.locate(copy).model())
    # A GAN config that asks to run code is refused by safe_mode.
    gan_config = json.loads((out / saving.CONFIG).read_text())
    gan_config["config"]["generator"] = keras.saving.serialize_keras_object(lambda_model)
    write_json(copy / saving.CONFIG, gan_config)
    presets.rehash(presets.locate(copy))
    one_line("does not build a GAN", lambda: presets.locate(copy).model())


def test_weights_of_another_architecture_are_refused(trained):
    _, out = trained
    other = zoo.build("dcgan", image_shape=helpers.SHAPE, latent_dim=8, g_width=16, d_width=16)
    one_line("cannot load", lambda: presets.locate(out).load_weights_into(other))


def test_a_preset_has_keras_hubs_layout_and_metadata(trained):
    model, out = trained
    assert sorted(p.name for p in out.iterdir()) == [
        "card.json", "config.json", "discriminator.weights.h5", "generator.weights.h5", "metadata.json",
        "recipe.json",
    ]
    config = json.loads((out / saving.CONFIG).read_text())
    assert config["registered_name"] == f"zoo>{type(model).__name__}"
    text = (out / saving.CONFIG).read_text()
    assert "build_config" not in text and "compile_config" not in text  # at no depth
    meta = json.loads((out / saving.METADATA).read_text())
    assert meta["keras_version"] == keras.__version__ and meta["tensorflow_version"]
    counts = {"generator": model.sampling_generator, "discriminator": model.discriminator}
    assert meta["parameter_count"] == {name: network.count_params() for name, network in counts.items()}
    assert sorted(meta["files"]) == ["card.json", "config.json", "discriminator.weights.h5",
                                     "generator.weights.h5", "recipe.json"]  # fmt: skip


def test_save_to_preset_and_from_preset_are_an_inverse_pair_for_a_model_built_by_hand(tmp_path):
    model = zoo.build("cgan", image_shape=(28, 28, 1), num_classes=3, latent_dim=8, g_width=8, d_width=8,
                      ema_decay=0.9)  # fmt: skip
    helpers.compile_for_test(model)
    helpers.fit_briefly(model)  # plain fit, no recipe
    model.save_to_preset(tmp_path / "mine")
    loaded = zoo.from_preset(tmp_path / "mine")
    assert type(loaded) is type(model) and loaded.num_classes == 3 and loaded.ema_decay == 0.9
    inputs = model.sample_inputs(6, seed=1)
    assert np.abs(loaded.generate(6, inputs=inputs) - model.generate(6, inputs=inputs)).max() < 0.05
    located = presets.locate(tmp_path / "mine")
    assert located.config is None and located.card is None
    one_line("saved without its recipe", lambda: located.dataset)


def test_a_preset_in_the_old_layout_says_how_to_convert_it_and_converts_keeping_its_checks(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(FIXTURES / "preset-tiny-dcgan", old)
    one_line(r"convert it with `ganzoo preset --upgrade", lambda: presets.locate(old))
    weights = {name: presets.sha256(old / name) for name in saving.WEIGHTS.values()}
    damaged = tmp_path / "damaged"
    shutil.copytree(old, damaged)
    (damaged / "model.json").write_text((damaged / "model.json").read_text().replace("DCGAN", "DCGAN "))
    one_line("does not match its sha256", lambda: presets.upgrade(damaged))
    converted = presets.upgrade(old)
    assert converted.metadata["converted"]["from"] == "gan-zoo-preset/1"
    assert {name: converted.metadata["files"][name] for name in weights} == weights  # byte for byte
    model = converted.model()  # given the z it was drawn with then
    old_z = np.random.default_rng(3).standard_normal((4, model.latent_dim)).astype(np.float32)
    np.testing.assert_array_equal(model.generate(4, inputs={"z": old_z}),
                                  np.load(FIXTURES / "preset-tiny-dcgan.samples.npy"))  # fmt: skip


def test_a_preset_trained_in_bfloat16_loads_as_the_float32_model_its_card_describes(tmp_path):
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = helpers.fit_briefly(helpers.tiny("dcgan"))
    finally:
        keras.config.set_dtype_policy("float32")
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in model.generator.layers)
    preset = presets.save_preset(model, tmp_path / "bf16", {"name": "x", "variant": "dcgan", "dataset": "d"})
    assert "mixed_" not in (preset.path / saving.CONFIG).read_text()
    loaded = preset.model()
    assert all(layer.dtype_policy.name == "float32" for layer in loaded.generator.layers)
    inputs = model.sample_inputs(4, seed=0)
    assert loaded.generate(4, inputs=inputs).dtype == np.float32
