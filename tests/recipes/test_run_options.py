"""Run options are resolved once, before anything is written, and refused where they do not apply."""

import pytest

import recipes
from recipes.cli import main
from recipes.run_options import RunOptions, resolve
from tests import helpers
from zoo.errors import ZooError


@pytest.mark.parametrize(
    "flags, name",
    [
        (["--time-budget", "5"], "--time-budget"),
        (["--strategy", "mirrored"], "--strategy"),
        (["--jit"], "--jit"),
        (["--deterministic"], "--deterministic"),
        (["--no-mixed-precision"], "--mixed-precision"),
        (["--no-export"], "--export"),
        (["--from-preset", "cgan-fashion-mnist"], "--from-preset"),
    ],
)
def test_options_a_classifier_cannot_use_are_refused_first(flags, name, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "classifier-fashion-mnist", *flags, "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"{name} does not apply to classifier-fashion-mnist") and "\n" not in err
    assert not run.exists()


def test_the_python_api_refuses_them_too(tmp_path):
    with pytest.raises(ZooError, match="--time-budget does not apply"):
        recipes.run(recipes.get("classifier-fashion-mnist"), tmp_path / "run", time_budget=5)
    with pytest.raises(TypeError):  # an option that does not exist at all
        recipes.run(recipes.get("dcgan-fashion-mnist"), tmp_path / "run", time_budgets=5)
    assert not (tmp_path / "run").exists()


def test_xla_and_precision_are_decided_once_from_the_options_then_the_recipe_then_the_device():
    recipe = recipes.get("dcgan-fashion-mnist")
    assert resolve(RunOptions(), recipe).jit is False  # CPU default: oneDNN beats XLA here
    with_jit = recipe.with_overrides(["jit_compile=true"])
    assert resolve(RunOptions(), with_jit).jit is True
    assert resolve(RunOptions(jit=False), with_jit).jit is False  # the option wins
    assert resolve(RunOptions(mixed_precision=False), recipe).policy == "float32"
    in_float32 = recipe.with_overrides(["mixed_precision=false"])
    assert resolve(RunOptions(), in_float32).policy == "float32"
    assert resolve(RunOptions(), recipes.get("gan-mlp-fashion-mnist")).policy == "float32"  # measured
    if resolve(RunOptions(), recipe).policy != "float32":  # a CPU with bfloat16 arithmetic
        assert resolve(RunOptions(mixed_precision=True), in_float32).policy == "mixed_bfloat16"
    with pytest.raises(ZooError, match="--time-budget must be positive"):
        resolve(RunOptions(time_budget=0), recipe)


def test_a_preset_of_another_variant_is_refused_as_a_start():
    with pytest.raises(ZooError, match="was trained as variant 'cgan'"):
        resolve(RunOptions(init_from="cgan-fashion-mnist"), recipes.get("acgan-fashion-mnist"))
    resolved = resolve(RunOptions(init_from="cgan-fashion-mnist"), recipes.get("cgan-fashion-mnist"))
    assert resolved.init_from.kind == "preset" and resolved.init_from.name == "cgan-fashion-mnist"


def test_the_model_owns_the_batch_arithmetic():
    model = helpers.tiny("wgan")  # d_steps 5
    assert model.images_per_step(64) == 320
    images, _ = helpers.real_batch(model, n=14)
    with pytest.raises(ValueError, match="multiple of 5"):
        model.fit(images, batch_size=7, epochs=1, verbose=0)
