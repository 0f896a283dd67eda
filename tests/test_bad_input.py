"""Bad input anywhere is one line (ZooError; `ganzoo: error: ...` and exit 2) and writes nothing."""

import ast
import json
import pickle
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import recipes
from export import manifest
from recipes.cli import main
from tests import helpers
from zoo import contract
from zoo.errors import ZooError
from zoo.evaluation.judge import Judge
from zoo.files import save_keras
from zoo.presets import locate

ROOT = Path(__file__).resolve().parents[1]


def one_line_error(capsys, argv) -> str:
    assert main([str(a) for a in argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("ganzoo: error: ") and "\n" not in err, err
    return err


def tree(path: Path) -> dict[str, bytes]:
    """Every file under `path` with its content: what 'nothing changed' compares."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def model():
    return helpers.fit_briefly(helpers.tiny("dcgan"))


@pytest.fixture(scope="module")
def run_dir(model, tmp_path_factory):
    """A run directory as training leaves it (without logs and export)."""
    run = tmp_path_factory.mktemp("run")
    recipe = recipes.get(recipes.DEFAULT_RECIPE).with_overrides(["g_width=8", "d_width=8", "latent_dim=8"])
    (run / "config.json").write_text(json.dumps(recipe.to_dict()))
    save_keras(model, run / "final.keras")
    Judge.from_discriminator(model).save(run / "judge")
    return run


@pytest.fixture
def run_copy(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


# === Images to the judge ===


@pytest.mark.parametrize("method", ["scores", "accept"])
@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((28, 28, 1), np.float32), "shape"),
        (np.zeros((2, 28, 28, 3), np.float32), "shape"),
        (np.zeros(()), "shape"),
        (np.zeros((2, 28, 28, 1), np.int32), "dtype"),
        (np.zeros((2, 28, 28, 1), bool), "dtype"),
        (np.full((2, 28, 28, 1), 255.0), r"\[-1, 1\]"),
        (np.full((2, 28, 28, 1), np.inf, np.float16), r"\[-1, 1\]"),
        ([np.zeros((28, 28, 1)), np.zeros((3, 3))], "array of images"),
        ("images.png", "shape"),
    ],
)
def test_the_judge_refuses_images_of_the_wrong_shape_dtype_or_range(model, method, images, message):
    with pytest.raises(ZooError, match=message):
        getattr(Judge.from_discriminator(model), method)(images)


def test_the_judge_takes_an_empty_batch(model):
    judge = Judge.from_discriminator(model)
    assert judge.scores(np.zeros((0, 28, 28, 1), np.float32)).shape == (0,)
    assert judge.accept(np.zeros((0, 28, 28, 1), np.float64)).shape == (0,)


def bad_files(tmp_path) -> list[tuple[Path, str]]:
    """(file, what the error says) for arrays and images the `judge` command must refuse."""
    cases = {
        "scalar.npy": (np.float32(0.5), "holds an array of shape ()"),
        "flat.npy": (np.zeros((5, 784), np.float32), "holds an array of shape (5, 784)"),
        "wide.npy": (np.zeros((1, 2, 28, 28, 1), np.float32), "holds an array of shape (1, 2, 28, 28, 1)"),
        "uint8.npy": (np.zeros((2, 28, 28, 1), np.uint8), "dtype uint8"),
        "bright.npy": (np.full((2, 28, 28, 1), 2.0, np.float32), "[-1, 1]"),
        "nan.npy": (np.full((2, 28, 28, 1), np.nan, np.float32), "not finite"),
        "rgb.npy": (np.zeros((2, 28, 28, 3), np.float32), "shape"),
    }
    files = []
    for name, (array, message) in cases.items():
        np.save(tmp_path / name, array)
        files.append((tmp_path / name, message))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    files.append((tmp_path / "objects.npy", "not a plain .npy array"))
    (tmp_path / "pickle.npy").write_bytes(pickle.dumps([1, 2, 3]))
    files.append((tmp_path / "pickle.npy", "not a plain .npy array"))
    whole = (tmp_path / "uint8.npy").read_bytes()
    (tmp_path / "truncated.npy").write_bytes(whole[: len(whole) // 2])
    files.append((tmp_path / "truncated.npy", "not a plain .npy array"))
    (tmp_path / "garbage.png").write_bytes(b"not a png")
    files.append((tmp_path / "garbage.png", "is not an image file"))
    return files


def test_the_judge_command_refuses_bad_files_in_one_line(run_dir, tmp_path, capsys):
    for path, message in bad_files(tmp_path):
        err = one_line_error(capsys, ["judge", run_dir, path])
        assert message in err, (path.name, err)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda j: (j / "judge.json").write_text("{not json"), "judge.json is corrupt"),
        (
            lambda j: (j / "judge.json").write_text('{"temperature": 0, "threshold": 0.5}'),
            "invalid calibration",
        ),
        (lambda j: (j / "judge.json").write_text('{"threshold": 0.5}'), "judge.json is corrupt"),
        (lambda j: (j / "judge.keras").write_bytes(b"PK\x03\x04 not a zip"), "cannot load"),
    ],
)
def test_a_damaged_judge_is_one_line(run_copy, tmp_path, capsys, damage, message):
    damage(run_copy / "judge")
    images = tmp_path / "images.npy"
    np.save(images, np.zeros((2, 28, 28, 1), np.float32))
    err = one_line_error(capsys, ["judge", run_copy, images])
    assert message in err and "--fit" in err


# === Exports ===


@pytest.fixture
def export_dir(tmp_path) -> Path:
    """A folder with files and a manifest listing their sha256, as an export writes it."""
    out = tmp_path / "export"
    (out / "generator").mkdir(parents=True)
    (out / "generator.onnx").write_bytes(b"onnx bytes")
    (out / "generator" / "saved_model.pb").write_bytes(b"pb bytes")
    written = {"format": manifest.FORMAT, "variant": "dcgan", "files": contract.file_hashes(out)}
    (out / manifest.NAME).write_text(json.dumps(written))
    assert manifest.read(out) == written
    return out


def edit_manifest(out: Path, change) -> None:
    content = json.loads((out / manifest.NAME).read_text())
    change(content)
    (out / manifest.NAME).write_text(json.dumps(content))


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda o: (o / "generator.onnx").write_bytes(b"onnx bytes, changed"), "does not match its sha256"),
        (lambda o: (o / "generator" / "saved_model.pb").unlink(), "listed in the manifest but missing"),
        (lambda o: edit_manifest(o, lambda m: m["files"].update({"generator.onnx": "0" * 64})), "sha256"),
        (lambda o: edit_manifest(o, lambda m: m["files"].update({"../outside": "0" * 64})), "damaged"),
        (lambda o: edit_manifest(o, lambda m: m["files"].update({"/etc/passwd": "0" * 64})), "damaged"),
        (lambda o: edit_manifest(o, lambda m: m.pop("files")), "damaged file list"),
        (lambda o: edit_manifest(o, lambda m: m.update(files=["generator.onnx"])), "damaged file list"),
        (lambda o: edit_manifest(o, lambda m: m.update(format="other/1")), "is not a gan-zoo-export/1"),
        (lambda o: (o / manifest.NAME).write_text("[1, 2]"), "is not a gan-zoo-export/1"),
        (lambda o: (o / manifest.NAME).write_text('{"format": '), "not valid JSON"),
        (lambda o: (o / manifest.NAME).write_bytes(b"\xff\xfe\x00\x81garbage"), "not valid JSON"),
        (lambda o: (o / manifest.NAME).unlink(), "has no manifest.json"),
    ],
)
def test_a_tampered_export_is_refused_when_read(export_dir, tamper, message):
    tamper(export_dir)
    with pytest.raises(ZooError, match=message):
        manifest.read(export_dir)


def test_export_into_an_existing_path_needs_force(run_dir, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert "already exists; pass --force" in one_line_error(capsys, ["export", run_dir, "--out", out])
    assert tree(out) == {"keep.txt": b"mine"}
    (tmp_path / "file").write_text("mine")
    one_line_error(capsys, ["export", run_dir, "--out", tmp_path / "file"])
    assert (tmp_path / "file").read_text() == "mine"


# === Damaged or hostile run files ===


def test_a_corrupt_final_keras_is_one_line_for_every_command(run_copy, tmp_path, capsys):
    final = run_copy / "final.keras"
    final.write_bytes(final.read_bytes()[:1000])
    before = tree(run_copy)
    for argv in (
        ["sample", run_copy, "--out", tmp_path / "grid.png"],
        ["sample", run_copy, "--n", "4", "--out", tmp_path / "samples.npy"],
        ["export", run_copy],
        ["eval", run_copy, "--n", "10"],
        ["judge", run_copy, "--fit"],
    ):
        assert f"cannot load {final}" in one_line_error(capsys, argv)
    assert tree(run_copy) == before  # no eval.json, no export/, no judge written
    assert not any(tmp_path.glob("grid*")) and not any(tmp_path.glob("*samples*"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "--no-copies"], "--no-copies makes the judge reject near-copies; it needs --filter"),
        (["eval", "--no-copies"], "--no-copies makes the judge reject near-copies; it needs --filter"),
        (["sample", "--neighbours", "--out-npy"], "--neighbours draws a picture; --out must end in .png"),
        (["sample", "--filter", "judge", "--rule", "mh", "--no-copies"], "drop --refine and --no-copies"),
    ],
)
def test_copy_options_misused_are_one_line(run_copy, tmp_path, capsys, argv, message):
    command, *options = argv
    out = tmp_path / ("s.npy" if "--out-npy" in options else "s.png")
    options = [o for o in options if o != "--out-npy"]
    before = tree(run_copy)
    assert message in one_line_error(capsys, [command, run_copy, *options, "--n", "4",
                                              *(["--out", out] if command == "sample" else [])])  # fmt: skip
    assert tree(run_copy) == before and not out.exists()


@pytest.mark.parametrize(
    ("options", "out", "message"),
    [
        (["--label", "3"], "s.png", "--label: this generator has no classes; drop --label"),
        (["--code", "code_cat=1"], "s.png", "no such code (its codes: none)"),
        (["--truncation", "-1"], "s.png", "--truncation must be a bound > 0"),
        (["--interpolate", "1", "2"], "s.jpg", "--out must end in .png, .gif, .webp, .npy"),
        (["--interpolate", "1", "2", "--filter", "judge"], "s.gif", "--interpolate walks between"),
        (["--interpolate", "1", "missing.npz"], "s.gif", "cannot read latents from missing.npz"),
        (["--interpolate", "1", "2", "--frames", "0"], "s.gif", "at least 2 frames"),
        (["--filter", "judge", "--save-latents", "l.npz"], "s.png", "--save-latents writes plain or refined"),
    ],
)
def test_steering_misused_is_one_line(run_copy, tmp_path, capsys, options, out, message):
    before = tree(run_copy)
    argv = ["sample", run_copy, "--n", "4", *options, "--out", tmp_path / out]
    assert message in one_line_error(capsys, argv)
    assert tree(run_copy) == before and not (tmp_path / out).exists() and not (tmp_path / "l.npz").exists()


def test_ganzoo_sample_steers_and_walks(run_copy, model, tmp_path, capsys):
    grid, latents, walk = tmp_path / "t.npy", tmp_path / "t.npz", tmp_path / "walk.webp"
    argv = ["sample", run_copy, "--n", "5", "--seed", "2", "--truncation", "0.5", "--save-latents", latents]
    assert main([str(a) for a in [*argv, "--out", grid]]) == 0
    np.testing.assert_allclose(np.load(grid), model.generate(5, seed=2, truncation=0.5), atol=1e-6)
    saved = np.load(latents)
    assert np.abs(saved["z"]).max() <= 0.5
    between = ["--interpolate", f"{latents}:4", "7"]
    assert main([str(a) for a in ["sample", run_copy, *between, "--out", walk]]) == 0
    from PIL import Image

    assert Image.open(walk).n_frames == 16
    assert "wrote 16 frames" in capsys.readouterr().out


def test_unknown_recipe_keys_are_refused(run_copy, capsys):
    assert "unknown recipe key 'nope'" in one_line_error(capsys, ["train", "--set", "nope=1"])
    config = json.loads((run_copy / "config.json").read_text())
    (run_copy / "config.json").write_text(json.dumps({**config, "nope": 1}))
    before = tree(run_copy)
    for argv in (["train", "--run-dir", run_copy], ["eval", run_copy], ["judge", run_copy, "--fit"]):
        err = one_line_error(capsys, argv)
        assert "config.json: unknown recipe keys: nope" in err, err
    assert tree(run_copy) == before


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "holds no recipe"),
        ('{"name": "x", "variant": "dcgan"}', "is not a complete recipe"),
    ],
)
def test_a_damaged_config_is_refused(run_copy, capsys, content, message):
    (run_copy / "config.json").write_text(content)
    for argv in (["train", "--run-dir", run_copy], ["eval", run_copy]):
        assert message in one_line_error(capsys, argv)
    assert (run_copy / "config.json").read_text() == content


def test_a_keras_file_that_would_run_code_is_refused(run_copy, tmp_path):
    marker = str(tmp_path / "ran")
    image = keras.Input((2,))
    # A Lambda layer's code would run on load without safe mode; it writes the marker if it runs.
    out = keras.layers.Lambda(lambda x: x * len(open(marker, "w").name))(image)  # noqa: SIM115
    keras.Model(image, out).save(run_copy / "final.keras")
    Path(marker).unlink()
    with pytest.raises(ZooError, match="Lambda") as raised:
        locate(run_copy).model()
    assert "\n" not in str(raised.value) and not Path(marker).exists()
    shutil.copy(run_copy / "final.keras", run_copy / "judge" / "judge.keras")
    with pytest.raises(ZooError, match="Lambda"):
        Judge.load(run_copy / "judge")


def calls(tree_: ast.AST, name: str):
    for node in ast.walk(tree_):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called == name:
                yield node


def keyword(call: ast.Call, name: str):
    found = [k.value for k in call.keywords if k.arg == name]
    return found[0].value if found and isinstance(found[0], ast.Constant) else None


def test_every_load_in_the_project_is_safe():
    """load_model with safe_mode=True, np.load with allow_pickle=False, no pickle, no unsafe switch."""
    sources = [p for d in ("zoo", "recipes", "export", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    assert len(sources) > 20
    loads = 0
    for path in sources:
        text = path.read_text()
        parsed = ast.parse(text)
        for call in calls(parsed, "load_model"):
            assert keyword(call, "safe_mode") is True, (
                f"{path}:{call.lineno} load_model without safe_mode=True"
            )
            loads += 1
        for call in calls(parsed, "load"):
            if isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", None) in (
                "np",
                "numpy",
            ):
                assert keyword(call, "allow_pickle") is False, f"{path}:{call.lineno} np.load may unpickle"
        assert "enable_unsafe_deserialization" not in text and "safe_mode=False" not in text, path
        assert "import pickle" not in text and "allow_pickle=True" not in text, path
    assert loads >= 2  # the run's model and the judge


# === Labels and codes ===


@pytest.fixture(scope="module")
def cgan():
    return helpers.tiny("cgan")


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({"label": np.full(4, helpers.NUM_CLASSES)}, f"label must be 0 to {helpers.NUM_CLASSES - 1}"),
        ({"label": np.array([0, 1, -1, 2])}, "label must be 0 to"),
        ({"label": np.array([0.0, 1.0, 2.0, 3.0])}, "label must hold integers"),
        ({"label": np.array([True, False, True, False])}, "label must hold integers"),
        ({"label": np.zeros((4, 1), np.int32)}, r"label must have shape \(4,\)"),
        ({"label": np.zeros(3, np.int32)}, r"label must have shape \(4,\)"),
        ({"label": 2}, r"label must have shape \(4,\)"),
        ({"label": ["a", "b", "c", "d"]}, "label must hold integers"),
        ({"z": np.full((4, 8), np.nan, np.float32)}, "z must hold finite floats"),
        ({"z": np.zeros((4, 9), np.float32)}, r"z must have shape \(4, 8\)"),
        ({"class": np.zeros(4, np.int32)}, "unknown generator inputs"),
    ],
)
def test_generate_refuses_bad_labels_and_inputs(cgan, inputs, message):
    with pytest.raises(ZooError, match=message):
        cgan.generate(4, inputs=inputs)


def test_generate_takes_a_user_label_alone(cgan):
    labels = np.array([3, 0, 2, 1], np.uint8)
    images = cgan.generate(4, seed=5, inputs={"label": labels})
    drawn = cgan.sample_inputs(4, seed=5)
    np.testing.assert_array_equal(images, cgan.generate(4, inputs={"z": drawn["z"], "label": labels}))
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.float32
    assert cgan.generate(0).shape == (0, 28, 28, 1)


@pytest.mark.parametrize("n, seed", [(-1, 0), (2.5, 0), (True, 0), (2, -3), (2, "a")])
def test_generate_refuses_a_bad_count_or_seed(cgan, n, seed):
    with pytest.raises(ZooError, match="non-negative integer"):
        cgan.generate(n, seed=seed)


def test_infogan_codes_are_range_checked():
    model = helpers.tiny("infogan")
    size = model.codes["code_cat"]["size"]
    with pytest.raises(ZooError, match=f"code_cat must be 0 to {size - 1}"):
        model.generate(2, inputs={"code_cat": np.array([0, size])})
    assert model.generate(2, inputs={"code_cat": np.array([0, size - 1])}).shape == (2, 28, 28, 1)
