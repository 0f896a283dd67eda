"""`ganzoo gallery`: every shipped preset's card and live sampler, opened from disk in
headless Chromium, its controls changing the canvas as the Python sampler predicts."""

import json

import numpy as np
import pytest

from export import artifacts
from recipes import cli
from tests.export import browser
from zoo import contract, presets
from zoo.errors import ZooError

SHIPPED = sorted(presets.shipped())
STEERED = {  # what the driver does on these presets' samplers, beside opening every one
    "cgan-fashion-mnist": [
        {"name": "sneakers", "select": "class", "value": "7"},
        {"name": "truncated", "range": "truncation", "value": "0.8"},
        {"name": "walked", "walk": [0, 15]},
        {"name": "filtered", "check": "only-good", "value": True},
    ],
    "infogan-fashion-mnist": [
        {"name": "coded", "select": "code-code_cat", "value": "2"},
        {"name": "slid", "range": "code-code_cont-0", "value": "-0.5"},
    ],
}


@pytest.fixture(scope="module")
def gallery(tmp_path_factory, fashion_mnist_dir):
    """(site folder, driver results): `ganzoo gallery --out DIR`, opened from disk."""
    browser.require_tools()
    out = tmp_path_factory.mktemp("gallery") / "site"
    assert cli.main(["gallery", "--out", str(out)]) == 0
    samplers = [{"open": name, "steps": STEERED.get(name, [])} for name in SHIPPED]
    result = browser.browse((out / "index.html").as_uri(), samplers, offline=True)
    for sampled in result["samplers"]:
        sampled["steps"] = {taken["step"]["name"]: taken for taken in sampled.get("steps", [])}
    return out, result


def _shown_by_python(model, snapshot: dict) -> np.ndarray:
    """The grid the page should show: the preset's G (Keras) on the page's inputs."""
    inputs = {k: np.asarray(v) for k, v in snapshot["inputs"].items()}
    n = len(inputs["z"])
    images = model.generate(n, inputs=inputs)
    discrete = contract.classes_of(model.input_fields)
    return contract.grid(images, cols=discrete[1] if discrete else 4)


def _steering(shown: dict) -> dict:
    return {k: v for k, v in shown["steering"].items() if k != "seed"}


def test_the_gallery_opens_from_disk_without_the_network(gallery):
    out, result = gallery
    assert result["ready"] == "ok" and result["errors"] == []
    assert {url.split(":", 1)[0] for url in result["requests"]} <= {"file", "blob", "data"}
    data = json.loads((out / "gallery-data.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    assert [card["name"] for card in data["presets"]] == SHIPPED
    for card in data["presets"]:  # the card's figures are the preset's
        figures = dict((row[0], row[1]) for row in card["figures"])
        fd = presets.locate(card["name"]).card["eval"]["samples"]["frechet_distance"]
        assert figures["Frechet distance"] == f"{fd:.1f}"
        assert (out / card["grid"]).is_file()


@pytest.mark.parametrize("index", range(len(SHIPPED)), ids=SHIPPED)
def test_every_preset_samples_live_as_python_predicts(gallery, index):
    out, result = gallery
    written = json.loads((out / "presets" / SHIPPED[index] / "manifest.json").read_text())
    for network in ("generator", "judge"):  # the ONNX files in files.js match Keras
        tolerance = artifacts.PARITY_TOLERANCE * written["parity"]["output_scale"][network]
        assert 0 <= max(written["parity"][network].values()) <= tolerance, network
    assert "discriminator" not in written  # the page reads G, the judge and its classifier
    sampled = result["samplers"][index]
    assert sampled["open"] == SHIPPED[index] and "onnxruntime-web" in sampled["ready"].get("status", ""), (
        sampled
    )
    preset = presets.locate(SHIPPED[index])
    model = preset.model()
    loaded = sampled["loaded"]
    assert loaded["error"] == ""
    n = len(loaded["inputs"]["z"])
    browser.assert_same_latents(loaded["inputs"], model.sample_inputs(n, 1))
    h = model.image_shape[0]
    browser.assert_picture(browser.canvas(loaded, "grid"), _shown_by_python(model, loaded), cell=h)
    if preset.judge() is not None:
        assert "accepted" in loaded["verdict"]


def test_the_class_picker_truncation_and_walk_steer_a_conditional_preset(gallery):
    _, result = gallery
    sampled = result["samplers"][SHIPPED.index("cgan-fashion-mnist")]
    model = presets.locate("cgan-fashion-mnist").model()
    steps = sampled["steps"]
    sneakers, truncated = steps["sneakers"]["shown"], steps["truncated"]["shown"]
    assert set(sneakers["inputs"]["label"]) == {7}
    browser.assert_same_latents(sneakers["inputs"], model.sample_inputs(40, 1, label="Sneaker"))
    browser.assert_picture(browser.canvas(sneakers, "grid"), _shown_by_python(model, sneakers), cell=28)
    assert _steering(truncated) == {"label": 7, "codes": {}, "truncation": 0.8}
    browser.assert_same_latents(truncated["inputs"], model.sample_inputs(40, 1, label=7, truncation=0.8))
    browser.assert_picture(browser.canvas(truncated, "grid"), _shown_by_python(model, truncated), cell=28)
    walked = steps["walked"]
    frames = model.interpolate(1, 2, 16, label=7, truncation=0.8)
    for k, shown in zip((0, 15), walked["frames"], strict=True):
        browser.assert_picture(browser.canvas({"walk": shown}, "walk"), contract.to_uint8(frames[k]))
    filtered = steps["filtered"]["shown"]
    assert filtered["error"] == "" and all(v["accepted"] for v in filtered["verdicts"])
    assert set(filtered["inputs"]["label"]) == {7}


def test_code_controls_steer_infogan(gallery):
    _, result = gallery
    sampled = result["samplers"][SHIPPED.index("infogan-fashion-mnist")]
    model = presets.locate("infogan-fashion-mnist").model()
    coded, slid = sampled["steps"]["coded"]["shown"], sampled["steps"]["slid"]["shown"]
    assert _steering(coded) == {"label": None, "codes": {"code_cat": 2}, "truncation": None}
    assert _steering(slid)["codes"] == {"code_cat": 2, "code_cont": [-0.5, 0.0]}
    for shown in (coded, slid):
        browser.assert_same_latents(shown["inputs"], model.sample_inputs(40, 1, **_steering(shown)))
        browser.assert_picture(browser.canvas(shown, "grid"), _shown_by_python(model, shown), cell=28)
    assert not np.array_equal(browser.canvas(coded, "grid"), browser.canvas(slid, "grid"))


def test_a_gallery_of_an_unknown_preset_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["gallery", "--out", str(tmp_path / "site"), "--presets", "nope"]) == 2
    assert "no shipped preset nope" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()
    (tmp_path / "taken").mkdir()
    assert cli.main(["gallery", "--out", str(tmp_path / "taken")]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(ZooError, match="no shipped preset"):
        from export import gallery

        gallery.build(tmp_path / "other", ["nope"])
