"""Your own images from the CLI: a folder trains, exports and samples at the size and in the
colours asked for; bad data is one line and leaves no run behind."""

import json

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image, ImageDraw

from recipes.cli import main

TINY = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--set", "g_width=8", "--set",
        "d_width=8", "--set", "latent_dim=8", "--no-mixed-precision"]  # fmt: skip


@pytest.fixture
def shapes(tmp_path, monkeypatch):
    """64 non-square RGBA pictures in two class folders: red discs and blue squares."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    root = tmp_path / "shapes"
    rng = np.random.default_rng(0)
    for kind, colour in (("discs", (220, 30, 30, 255)), ("squares", (30, 30, 220, 255))):
        (root / kind).mkdir(parents=True)
        for i in range(32):
            image = Image.new("RGBA", (48, 40), (0, 0, 0, 0))
            x, y, r = *rng.integers(12, 28, 2), int(rng.integers(6, 12))
            box = (x - r, y - r, x + r, y + r)
            draw = ImageDraw.Draw(image)
            (draw.ellipse if kind == "discs" else draw.rectangle)(box, colour)
            image.save(root / kind / f"{i}.png")
    return root


def test_a_folder_trains_exports_and_samples_at_the_size_asked(shapes, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "cgan-fashion-mnist", "--data", str(shapes), "--image-size", "32", "--background",
            "white", "--run-dir", str(run), *TINY]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["dataset"] == str(shapes) and config["image_size"] == 32 and config["background"] == "white"
    manifest = json.loads((run / "export" / "manifest.json").read_text())
    assert manifest["image_shape"] == [32, 32, 3] and manifest["num_classes"] == 2
    session = ort.InferenceSession(str(run / "export" / "generator.onnx"))
    z = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    (images,) = session.run(["image"], {"z": z, "label": np.array([0, 1], np.int32)})
    assert images.shape == (2, 32, 32, 3)
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "grid.png")]) == 0
    assert Image.open(tmp_path / "grid.png").mode == "RGB"
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "64"]) == 0
    out = capsys.readouterr().out
    assert "feature space: random-features" in out and "frechet_distance" in out
    assert "classes_covered" not in out  # a space without classes counts none
    report = json.loads((run / "eval.json").read_text())
    assert report["real_floor"]["frechet_distance"] >= 0
    assert "shapes (folder, 32x32 RGB) train" in report["reference"]


@pytest.mark.parametrize(
    "setup, recipe, message",
    [
        ("empty", "dcgan-fashion-mnist", "holds no images"),
        ("one class", "cgan-fashion-mnist", "cgan needs at least two classes"),
        ("no keys", "dcgan-fashion-mnist", "has no images under images, x, x_train"),
        ("tfds", "dcgan-fashion-mnist", "unknown dataset 'not_a_dataset_42'"),
        ("size", "dcgan-fashion-mnist", "image_size must be one of"),
    ],
)
def test_bad_data_is_one_line_and_writes_no_run(tmp_path, monkeypatch, capsys, setup, recipe, message):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    source, extra = tmp_path / "data", []
    source.mkdir()
    if setup == "one class":
        (source / "cats").mkdir()
        Image.new("RGB", (32, 32)).save(source / "cats" / "a.png")
    elif setup == "no keys":
        source = tmp_path / "arrays.npz"
        np.savez(source, pictures=np.zeros((4, 28, 28), np.uint8))
    elif setup == "tfds":
        source = "not_a_dataset_42"
    elif setup == "size":
        Image.new("RGB", (32, 32)).save(source / "a.png")
        extra = ["--image-size", "100"]
    run = tmp_path / "run"
    assert main(["train", recipe, "--data", str(source), "--run-dir", str(run), *extra, *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganzoo: error: ") and "\n" not in err and message in err, err
    assert not run.exists()


def test_a_classifier_trained_on_the_folder_s_labels_is_its_feature_space(shapes, tmp_path, capsys):
    classifier, run = tmp_path / "classifier", tmp_path / "run"
    argv = ["train", "classifier-noto-emoji", "--data", str(shapes), "--epochs", "3", "--run-dir",
            str(classifier)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    info = json.loads((classifier / "classifier.json").read_text())
    assert info["accuracy_on"] == "every 10th training image" and info["class_names"] == ["discs", "squares"]
    assert info["image_shape"] == [40, 40, 3]  # the folder's own size (the median shorter side)
    assert main(["train", "dcgan-fashion-mnist", "--data", str(shapes), "--run-dir", str(run), "--no-export",
                 *TINY]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "64", "--classifier", str(classifier)]) == 0
    out = capsys.readouterr().out
    assert "feature space: classifier:" in out and "classes_covered" in out
    assert main(["eval", str(run), "--n", "64", "--classifier", str(tmp_path)]) == 2
    assert "holds no trained classifier" in capsys.readouterr().err
