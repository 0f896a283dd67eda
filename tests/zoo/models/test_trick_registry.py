"""A trick is one file: registering it is all it takes to appear in the recipe, `--set` and
the model's config, and its settings are named nowhere else in the project."""

import ast
import re
from pathlib import Path

import pytest

import recipes
from recipes.cli import main
from tests import helpers
from zoo.models import tricks

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = tricks.settings()


def test_tricks_are_found_by_file_and_act_in_file_name_order():
    names = [trick.name for trick in tricks.registered()]
    files = sorted(p.stem for p in (ROOT / "zoo" / "models" / "tricks").glob("*.py") if p.stem != "__init__")
    assert names == files
    assert {"ema", "label_smoothing", "virtual_batch_norm", "weight_clip"} <= set(names)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_recipe_field_a_set_key_and_a_config_entry(setting):
    recipe = recipes.get("dcgan-fashion-mnist")
    assert setting.name in recipe.to_dict()  # a recipe field, saved in config.json
    value = {str: "translation", int: 3, float: 0.25}[setting.type]
    if setting.name == "virtual_batch_norm":
        value = 8
    changed = recipe.with_overrides([f"{setting.name}={value}"])  # --set parses it by its type
    assert getattr(changed, setting.name) == value
    model = helpers.tiny("dcgan", **{setting.name: value})
    assert model.get_config()[setting.name] == value
    assert type(model).from_config(model.get_config()).get_config()[setting.name] == value
    if any(setting == t.settings[0] for t in tricks.registered()):  # a trick's switch turns it on
        assert any(setting in type(t).settings for t in model.tricks)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_a_setting_is_named_only_in_its_own_file(setting):
    """The game, the recipe types, the trainer and the exporter name no trick: only its file
    does (recipes in the book and the variants' defaults may set one, by name)."""
    (trick,) = [t for t in tricks.registered() if setting in t.settings]
    own = ROOT / "zoo" / "models" / "tricks" / f"{trick.name}.py"
    allowed = {own, ROOT / "recipes" / "book.py", *(ROOT / "zoo" / "models" / "variants").glob("*.py")}
    named = [
        str(path.relative_to(ROOT))
        for package in ("zoo", "recipes", "export")
        for path in (ROOT / package).rglob("*.py")
        if path not in allowed and setting.name in names_in_code(path)
    ]
    assert not named, f"{setting.name} is named outside its trick's file: {named}"


def names_in_code(path: Path) -> set[str]:
    """Identifiers, attributes, keywords and string constants in a module's code (not its
    docstrings or comments), and the names inside f-strings and dotted strings."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.keyword, ast.arg)) and node.arg:
            names.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", node.value))
    return names


def test_the_scan_finds_a_setting_in_code_but_not_in_prose(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('"""ema_decay in prose."""\n# ema_decay\nx = model.r1_gamma\ny = {"weight_clip": 1}\n')
    assert {"r1_gamma", "weight_clip"} <= names_in_code(probe) and "ema_decay" not in names_in_code(probe)


def test_a_bad_setting_is_refused_by_its_trick_in_the_model_the_recipe_and_the_cli(capsys):
    with pytest.raises(ValueError, match="ema_decay must be in"):
        helpers.tiny("dcgan", ema_decay=1.5)
    with pytest.raises(ValueError, match="r1_gamma must be non-negative"):
        helpers.tiny("dcgan", r1_gamma=-1.0)
    assert main(["train", "--set", "label_smoothing=1.0", "--run-dir", "/nonexistent/run"]) == 2
    assert "label_smoothing must be in [0, 1)" in capsys.readouterr().err


PROBE = '''"""A probe trick: a constant added to G's loss."""

import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register


@register
class Probe(Trick):
    settings = (Setting("probe_weight", float, 0.0, "a constant added to G's loss"),)

    def g_regularizer(self, model, features):
        return tf.constant(self.probe_weight)
'''

CHECK = '''
import keras, numpy as np, recipes, zoo
from recipes import trainer

recipe = recipes.get("dcgan-fashion-mnist").with_overrides(["probe_weight=2.5"])
assert recipe.probe_weight == 2.5 and recipe.to_dict()["probe_weight"] == 2.5
assert "probe_weight" in trainer._MODEL_FIELDS
losses = []
for weight in (0.0, 2.5):
    keras.utils.set_random_seed(0)
    gan = zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=8, g_width=8, d_width=8, seed=0,
                    probe_weight=weight)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    assert gan.get_config()["probe_weight"] == weight
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    losses.append(gan.train_on_batch(images, return_dict=True)["g_loss"])
print("extra g_loss", losses[1] - losses[0])
'''


def test_a_new_trick_is_one_new_file(tmp_path):
    """Copies the library, adds one file to zoo/models/tricks/, and checks the new setting is
    a recipe field, a --set key, a model argument in get_config, and acts in its phase."""
    import shutil
    import subprocess
    import sys

    skip = shutil.ignore_patterns("__pycache__", "weights")
    for package in ("zoo", "recipes"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=skip)
    (tmp_path / "zoo" / "models" / "tricks" / "probe.py").write_text(PROBE)
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-c", CHECK]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    extra = float(done.stdout.rsplit("extra g_loss", 1)[1])
    assert extra == pytest.approx(2.5, abs=1e-4)  # the probe's constant reached G's loss
