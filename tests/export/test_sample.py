import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from export import artifacts, manifest
from export import sample as sampler
from tests import helpers
from zoo import contract

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ("dcgan", "cgan", "infogan")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """variant -> (model, export folder): a tiny unconditional, class-conditional and InfoGAN."""
    folders = {}
    for variant in VARIANTS:
        model = helpers.fit_briefly(helpers.tiny(variant))
        if model.num_classes:  # named as a dataset names its classes
            model.class_names = tuple(f"class {k}" for k in range(model.num_classes))
        out = tmp_path_factory.mktemp(variant) / "export"
        artifacts.export_model(model, out)
        folders[variant] = (model, out)
    return folders


def _onnxruntime(out: Path, inputs: dict) -> np.ndarray:
    session = ort.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    return session.run(["image"], {i.name: inputs[i.name] for i in session.get_inputs()})[0]


def test_the_sampler_imports_no_tensorflow_or_keras(exports, tmp_path):
    _, out = exports["infogan"]
    grid = tmp_path / "grid.png"
    code = (
        "import sys\n"
        "from export import sample as sampler\n"
        f"assert sampler.main([{str(out)!r}, '--n', '5', '--out', {str(grid)!r}]) == 0\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
    assert grid.is_file()


@pytest.mark.parametrize("variant", VARIANTS)
def test_samples_are_the_generator_on_the_zoos_inputs(exports, variant):
    model, out = exports[variant]
    n, seed = 10, 3
    got = sampler.sample(out, n, seed=seed)

    inputs = model.sample_inputs(n, seed)  # labels and codes as the zoo draws them
    z = contract.Stream(seed).standard_normal((n, model.latent_dim)).astype(np.float32)
    np.testing.assert_array_equal(inputs["z"], z)  # the contract's numbers, in every runtime
    assert got.shape == (n, 28, 28, 1) and got.dtype == np.float32
    assert got.min() >= -1.0 and got.max() <= 1.0 and got.std() > 0
    np.testing.assert_allclose(got, _onnxruntime(out, inputs), atol=1e-6)
    np.testing.assert_allclose(got, model.generate(n, seed=seed), atol=1e-4)  # `ganzoo sample`'s images


@pytest.mark.parametrize(("variant", "fixed"), [("cgan", "label"), ("infogan", "code_cat")])
def test_label_fixes_the_class_of_every_sample(exports, variant, fixed):
    model, out = exports[variant]
    got = sampler.sample(out, 6, seed=1, label=2)
    inputs = model.sample_inputs(6, 1)
    inputs[fixed] = np.full(6, 2, np.int32)
    np.testing.assert_allclose(got, _onnxruntime(out, inputs), atol=1e-6)
    assert not np.allclose(got, sampler.sample(out, 6, seed=1, label=3), atol=1e-3)


def test_sample_py_steers_as_ganzoo_sample_does(exports, tmp_path):
    """--label by name, --code, --truncation and --interpolate give Keras' images for the same
    options; --save-latents writes the inputs the walk then starts from."""
    model, out = exports["cgan"]
    steered = tmp_path / "steered.npy"
    latents = tmp_path / "latents.npz"
    argv = [str(out), "--n", "6", "--seed", "4", "--label", "class 2", "--truncation", "0.7"]
    assert sampler.main([*argv, "--out", str(steered), "--save-latents", str(latents)]) == 0
    want = model.generate(6, seed=4, label=2, truncation=0.7)
    np.testing.assert_allclose(np.load(steered), want, atol=1e-5)
    walk = tmp_path / "walk.npy"
    between = ["--interpolate", f"{latents}:3", "9", "--frames", "5"]
    assert sampler.main([str(out), *between, "--out", str(walk)]) == 0
    start = {k: v[3:4] for k, v in model.sample_inputs(6, 4, label=2, truncation=0.7).items()}
    np.testing.assert_allclose(np.load(walk), model.interpolate(start, 9, frames=5), atol=1e-5)
    gif = tmp_path / "walk.gif"
    assert sampler.main([str(out), "--interpolate", "1", "2", "--frames", "4", "--out", str(gif)]) == 0
    assert Image.open(gif).n_frames == 4
    infogan, coded = exports["infogan"]
    codes = tmp_path / "codes.npy"
    assert sampler.main([str(coded), "--n", "3", "--code", "code_cat=4", "--code", "code_cont=0.5,-0.5",
                         "--out", str(codes)]) == 0  # fmt: skip
    want = infogan.generate(3, codes={"code_cat": 4, "code_cont": [0.5, -0.5]})
    np.testing.assert_allclose(np.load(codes), want, atol=1e-5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--label", "boots"], "'boots' is not a class; choose class 0, class 1, class 2, class 3"),
        (["--code", "code_cat=1"], "no such code"),
        (["--truncation", "0"], "--truncation must be a bound > 0"),
        (["--interpolate", "1", "2", "--filter", "judge"], "drop --filter"),
        (["--interpolate", "1", "nope.npz"], "cannot read latents from nope.npz"),
        (["--interpolate", "1", "2", "--frames", "1"], "at least 2 frames"),
    ],
)
def test_bad_steering_is_one_line_exit_2(exports, tmp_path, capsys, argv, message):
    _, out = exports["cgan"]
    target = tmp_path / ("walk.gif" if "--interpolate" in argv else "grid.png")
    assert sampler.main([str(out), *argv, "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not target.exists()


def test_png_grid_has_one_column_per_class(exports, tmp_path):
    _, out = exports["cgan"]
    grid = tmp_path / "grid.png"
    command = [sys.executable, "-m", "export.sample", str(out), "--n", "8", "--seed", "5"]
    result = subprocess.run([*command, "--out", str(grid)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    picture = contract.grid(sampler.sample(out, 8, seed=5), cols=helpers.NUM_CLASSES)
    assert picture.shape == (2 * 30 + 2, 4 * 30 + 2, 1)
    want = picture[..., 0].repeat(2, axis=0).repeat(2, axis=1)
    np.testing.assert_array_equal(np.asarray(Image.open(grid)), want)


def test_npy_holds_the_samples(exports, tmp_path):
    _, out = exports["dcgan"]
    path = tmp_path / "s.npy"
    assert sampler.main([str(out), "--n", "3", "--seed", "7", "--out", str(path)]) == 0
    np.testing.assert_array_equal(np.load(path), sampler.sample(out, 3, seed=7))
    assert [p.name for p in tmp_path.iterdir()] == ["s.npy"]  # no temporary file left


def _tampered(out: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tampered"
    shutil.copytree(out, copy)
    data = bytearray((copy / "generator.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "generator.onnx").write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize(
    ("case", "variant", "args", "message"),
    [
        ("label too large", "cgan", ["--label", "4"], r"--label must be in \[0, 4\), got 4"),
        ("label negative", "cgan", ["--label", "-1"], r"--label must be in \[0, 4\), got -1"),
        ("label without classes", "dcgan", ["--label", "0"], "has no classes"),
        ("tampered", "dcgan", [], r"generator\.onnx does not match its sha256"),
        ("no manifest", "dcgan", [], "has no manifest.json"),
        ("not a model", "dcgan", [], r"onnxruntime cannot load .*generator\.onnx"),
        ("bad suffix", "dcgan", [], "--out must end in .png or .npy"),
        ("negative steps", "dcgan", ["--refine", "-1"], "refinement needs steps >= 0"),
        ("no refine graph", "dcgan", ["--refine", "2"], "without the refinement graph; drop --refine"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    exports, tmp_path, capsys, case, variant, args, message
):
    _, out = exports[variant]
    if case == "tampered":
        out = _tampered(out, tmp_path)
    elif case == "not a model":  # listed with its true sha256, but not ONNX
        out = _tampered(out, tmp_path)
        (out / "generator.onnx").write_bytes(b"not an onnx model")
        written = json.loads((out / "manifest.json").read_text())
        written["files"]["generator.onnx"] = contract.sha256(out / "generator.onnx")
        (out / "manifest.json").write_text(json.dumps(written))
    elif case == "no manifest":
        out = tmp_path / "empty"
        out.mkdir()
    target = tmp_path / "outputs" / ("grid.jpg" if case == "bad suffix" else "grid.png")
    assert sampler.main([str(out), "--out", str(target), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganzoo-onnx-sample: error: ")
    assert re.search(message, lines[0]), lines[0]
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


SAMPLER = ROOT / "export" / "sample.py"
CONTRACT = ROOT / "zoo" / "contract.py"
ALLOWED = {"numpy", "onnxruntime", "PIL"}


def _top_level_imports(path: Path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.level == 0}  # fmt: skip
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree)), "a relative import"
    return imported


def test_sample_py_imports_only_the_standard_library_numpy_onnxruntime_pil_and_the_contract():
    imported = _top_level_imports(SAMPLER)
    outside = imported - set(sys.stdlib_module_names) - ALLOWED - {"contract", "zoo"}
    assert not outside, f"sample.py imports {sorted(outside)}"
    assert {"numpy", "onnxruntime", "contract", "zoo"} <= imported  # the check sees what it should
    assert "from zoo import contract" in SAMPLER.read_text() and "import zoo." not in SAMPLER.read_text()


def test_the_contract_imports_only_the_standard_library_numpy_and_pil():
    imported = _top_level_imports(CONTRACT)
    assert imported - set(sys.stdlib_module_names) == {"numpy", "PIL"}


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """variant -> (model, judge, export folder) for a dcgan judged with a classifier's classes
    and a cgan judged with its labels."""
    from zoo.evaluation.features import classifier_network
    from zoo.evaluation.judge import Judge

    folders = {}
    for variant in ("dcgan", "cgan"):
        model = helpers.fit_briefly(helpers.tiny(variant))
        real, labels = helpers.structured_images(400, seed=3), np.arange(400) % helpers.NUM_CLASSES
        inputs = model.sample_inputs(400, 4)
        fake = model.generate(400, inputs=inputs)
        if variant == "dcgan":
            judge = Judge.from_discriminator(model)
            judge.classifier, judge.info["classes_from"] = classifier_network((28, 28, 1), 3), "classifier"
            real_classes, fake_classes, k = judge.classes(real), judge.classes(fake), 3
        else:  # a critic refines before it judges, as fit_judge sets critics up (3 steps here)
            judge = Judge.train_critic(model, real, epochs=1)
            judge.info["refinement"] = {"steps": 3, "step_size": 0.05, "noise": 0.5}
            real_classes, fake_classes, k = labels, inputs["label"], helpers.NUM_CLASSES
        judge.calibrate(
            real, fake, 0.9, real_classes, fake_classes, k, judge.info.get("classes_from", "label")
        )
        # Networks this small tell real from fake at once: the precision rule gets a threshold
        # that accepts about half the samples, so that its parity is tested on both verdicts.
        judge.threshold = float(np.median(judge.scores(fake)))
        out = tmp_path_factory.mktemp(f"judged-{variant}") / "export"
        artifacts.export_model(model, out, judge=judge)
        folders[variant] = (model, judge, out)
    return folders


def test_the_folder_carries_its_sampler_listed_in_the_manifest(judged):
    from importlib.metadata import version

    _, _, out = judged["dcgan"]
    listed = manifest.read(out)
    assert (out / "sample.py").read_bytes() == SAMPLER.read_bytes()  # one source
    assert (out / "contract.py").read_bytes() == CONTRACT.read_bytes()
    assert listed["files"]["contract.py"] == contract.sha256(out / "contract.py")
    assert listed["sampler"] == {
        "program": "sample.py", "contract": "contract.py", "requirements": "requirements.txt"
    }
    assert listed["files"]["sample.py"] == contract.sha256(out / "sample.py")
    assert listed["files"]["requirements.txt"] == contract.sha256(out / "requirements.txt")
    assert {"classifier.onnx", "judge.onnx"} <= listed["files"].keys()
    pins = [line for line in (out / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert pins == [f"{name}=={version(name)}" for name in ("numpy", "onnxruntime", "pillow")]


@pytest.mark.parametrize("variant", ["dcgan", "cgan"])
@pytest.mark.parametrize("rule", ["class-share", "precision", "drs", "mh"])
def test_filtering_in_onnxruntime_keeps_what_the_python_judge_keeps(judged, variant, rule):
    model, judge, out = judged[variant]
    want, want_rate = judge.filter(model, 40, seed=2, rule=rule)
    got, rate = sampler.Exported(out).filtered(40, seed=2, rule=rule)
    assert rate == want_rate and 0 < rate < 1
    np.testing.assert_allclose(got, want, atol=1e-4)
    if rule == "mh" and variant == "cgan":  # each chain keeps its label: the grid's columns stay classes
        labels = np.arange(40) % helpers.NUM_CLASSES
        proposals = contract.chain_inputs(model.input_fields, 40, 10, seed=2)
        assert (proposals["label"].reshape(40, 10) == labels[:, None]).all()


@pytest.mark.parametrize("variant", ["dcgan", "cgan"])
def test_refinement_in_onnxruntime_moves_z_as_python_does(judged, variant):
    """300 samples (two blocks of noise), 3 steps: z within 1e-4 of Python's but for the rare
    sample near a kink of the networks, where float32 rounding in the two runtimes moves a step
    (within 1e-3); labels kept."""
    from zoo.evaluation.refine import Refinement, refine_inputs

    model, judge, out = judged[variant]
    exported = sampler.Exported(out)
    assert {"refine.onnx", "refine/saved_model.pb"} <= exported.manifest["files"].keys()
    refinement = Refinement(steps=3, step_size=0.05, noise=0.5)
    drawn = model.sample_inputs(300, 5)
    want = refine_inputs(model, judge, drawn, refinement, seed=5)
    got = exported.refined(sampler.sample_inputs(exported.manifest, 300, 5), 3, 5, step_size=0.05, noise=0.5)
    np.testing.assert_allclose(got["z"], want["z"], rtol=0, atol=1e-3)
    assert np.mean(np.abs(got["z"] - want["z"]).max(axis=1) < 1e-4) > 0.98
    assert np.abs(got["z"] - drawn["z"]).mean() > 0.05  # moved
    for name in set(drawn) - {"z"}:
        np.testing.assert_array_equal(got[name], drawn[name])
    # Refined, then judged: the same samples kept.
    options = {"steps": 3, "step_size": 0.05, "noise": 0.5}
    kept, rate = exported.filtered(40, seed=2, refine=options)
    want_kept, want_rate = judge.filter(model, 40, seed=2, refinement=refinement)
    assert rate == want_rate
    np.testing.assert_allclose(kept, want_kept, atol=1e-3)
    # The card's refinement is the default (the cgan critic's); {"steps": 0} or steps=0 turns it off.
    plain, _ = exported.filtered(40, seed=2, refine={"steps": 0})
    unrefined, _ = judge.filter(model, 40, seed=2, refinement=Refinement(steps=0))
    np.testing.assert_allclose(plain, unrefined, atol=1e-4)
    rule = exported.judge_card["rule"]
    if variant == "cgan":
        assert exported.refinement_for(rule) == options and judge.default_refinement == refinement
        np.testing.assert_allclose(exported.filtered(40, seed=2)[0], kept, atol=1e-6)
        assert np.abs(plain - kept).mean() > 1e-3
    else:
        assert exported.refinement_for(rule) is None and judge.default_refinement is None


def test_sample_py_runs_alone_in_a_fresh_environment(judged, tmp_path):
    """Only numpy, onnxruntime and pillow in a new virtual environment, the folder moved away."""
    _, judge, out = judged["dcgan"]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(out / "requirements.txt")],
        capture_output=True, text=True,
    )  # fmt: skip
    if install.returncode != 0:
        pytest.skip(
            f"cannot install the requirements offline: {(install.stderr.strip().splitlines() or ['?'])[-1]}"
        )
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "freeze"], capture_output=True, text=True
    )
    names = {line.split("==")[0].lower() for line in listed.stdout.split()}
    assert not names & {"tensorflow", "keras", "gan-zoo"}, names
    moved = tmp_path / "elsewhere" / "model"
    shutil.copytree(out, moved)
    run = subprocess.run([str(python), "sample.py", "--n", "16", "--out", "grid.png"],
                         cwd=moved, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    np.testing.assert_array_equal(np.asarray(Image.open(moved / "grid.png")),
                                  _png(sampler.sample(out, 16)))  # fmt: skip
    run = subprocess.run([str(python), "sample.py", "--n", "16", "--filter", "judge", "--out", "kept.npy"],
                         cwd=moved, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"the judge ({judge.rule}) accepted" in run.stdout
    kept = np.load(moved / "kept.npy")
    assert kept.shape == (16, 28, 28, 1) and judge.accept(kept, rule="class-share").mean() > 0.9
    run = subprocess.run([str(python), "sample.py", "--n", "8", "--filter", "judge", "--rule", "mh", "--out",
                          "mh.npy"], cwd=moved, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "the judge (mh) accepted 10.0% of the samples drawn" in run.stdout
    want, _ = sampler.Exported(out).filtered(8, rule="mh")
    np.testing.assert_allclose(np.load(moved / "mh.npy"), want, atol=1e-6)
    run = subprocess.run([str(python), "sample.py", "--n", "8", "--refine", "3", "--out", "refined.npy"],
                         cwd=moved, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    exported = sampler.Exported(out)
    want = exported.generate(exported.refined(sampler.sample_inputs(exported.manifest, 8), 3))
    np.testing.assert_allclose(np.load(moved / "refined.npy"), want, atol=1e-6)
    assert np.abs(want - sampler.sample(out, 8)).mean() > 1e-3  # refined, not plain
    # Steered: the seed's latents are Keras' (bit for bit), the walk's frames Keras' images.
    steered = ["--n", "6", "--seed", "3", "--truncation", "0.8", "--save-latents", "l.npz", "--out", "t.npy"]
    run = subprocess.run([str(python), "sample.py", *steered], cwd=moved, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    keras_model = judged["dcgan"][0]
    drawn = keras_model.sample_inputs(6, 3, truncation=0.8)
    np.testing.assert_array_equal(np.load(moved / "l.npz")["z"], drawn["z"])
    np.testing.assert_allclose(np.load(moved / "t.npy"), keras_model.generate(6, inputs=drawn), atol=1e-5)
    run = subprocess.run([str(python), "sample.py", "--interpolate", "l.npz:2", "5", "--frames", "6", "--out",
                          "walk.npy"], cwd=moved, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    start = {"z": drawn["z"][2:3]}
    np.testing.assert_allclose(np.load(moved / "walk.npy"), keras_model.interpolate(start, 5, 6), atol=1e-5)


def _png(samples):
    picture = contract.grid(samples)
    return picture[..., 0].repeat(2, axis=0).repeat(2, axis=1)


def test_filter_without_a_judge_and_rule_without_filter_are_one_line_errors(exports, tmp_path, capsys):
    _, out = exports["dcgan"]
    assert sampler.main([str(out), "--filter", "judge", "--out", str(tmp_path / "a.png")]) == 2
    assert sampler.main([str(out), "--rule", "drs", "--out", str(tmp_path / "a.png")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert "exported without a judge" in lines[0] and "needs --filter judge" in lines[1]
    assert not list(tmp_path.iterdir())
