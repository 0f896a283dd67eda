import json

import keras
import pytest

import recipes
import zoo
from recipes.trainer import _write_or_check_config, build_model
from zoo import data
from zoo.errors import ZooError

REQUIRED = {"gan-mlp-mnist", "gan-mlp-fashion-mnist", "dcgan-fashion-mnist", "dcgan-cifar10",
            "dcgan-celeba-64"}  # fmt: skip


def test_required_recipes_exist_and_default_is_dcgan_fashion_mnist():
    assert set(recipes.RECIPES) >= REQUIRED
    assert recipes.DEFAULT_RECIPE == "dcgan-fashion-mnist"


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_every_recipe_builds_its_model_for_its_dataset(name):
    recipe = recipes.get(name)
    assert recipe.variant in zoo.available()
    model = build_model(recipe, data.spec(recipe.dataset))
    assert model.image_shape == data.spec(recipe.dataset).image_shape
    assert model.latent_dim == recipe.latent_dim
    assert model.d_steps == (recipe.d_steps or {"wgan": 5, "wgan-gp": 5}.get(recipe.variant, 1))
    assert float(model.g_optimizer.learning_rate) == pytest.approx(recipe.g_lr)
    assert float(model.d_optimizer.learning_rate) == pytest.approx(recipe.d_lr)


def test_overrides_are_parsed_as_their_field_types():
    recipe = recipes.get("dcgan-fashion-mnist").with_overrides(
        ["d_steps=2", "g_lr=1e-3", "jit_compile=true", "loss=minimax", "steps_per_epoch=none"]
    )
    assert recipe.d_steps == 2 and recipe.g_lr == 1e-3 and recipe.jit_compile is True
    assert recipe.loss == "minimax" and recipe.steps_per_epoch is None
    assert recipes.get("dcgan-fashion-mnist").d_steps is None  # recipes are frozen values


def test_classify_fakes_reaches_the_ac_gan_and_others_ignore_it():
    recipe = recipes.get("acgan-fashion-mnist")
    spec = data.spec(recipe.dataset)
    assert build_model(recipe, spec).classify_fakes == recipe.classify_fakes
    assert build_model(recipe.with_overrides(["classify_fakes=false"]), spec).classify_fakes is False
    other = recipes.get("cgan-fashion-mnist").with_overrides(["classify_fakes=false"])
    assert not hasattr(build_model(other, spec), "classify_fakes")


def test_g_batch_norm_reaches_the_mlp_generator():
    recipe = recipes.get("gan-mlp-fashion-mnist")
    spec = data.spec(recipe.dataset)

    def norms(model):
        return sum(isinstance(x, keras.layers.BatchNormalization) for x in model.generator.layers)

    assert norms(build_model(recipe.with_overrides(["g_batch_norm=true"]), spec)) == 3
    assert norms(build_model(recipe.with_overrides(["g_batch_norm=false"]), spec)) == 0


@pytest.mark.parametrize(
    "pair, message",
    [
        ("nope=1", "unknown recipe key 'nope'; valid keys: .*batch_size"),
        ("d_steps=two", "d_steps expects int, got 'two'"),
        ("jit_compile=maybe", "jit_compile expects bool"),
        ("d_steps", "expects key=value"),
        ("name=x", "unknown recipe key 'name'"),
        ("d_steps=0", "d_steps must be at least 1"),
        ("optimizer=lion", "optimizer must be"),
        ("backup_every=-5", r"backup_every must be 0 \(epoch ends only\) or more"),
    ],
)
def test_bad_overrides_are_one_line_errors(pair, message):
    with pytest.raises(ZooError, match=message) as error:
        recipes.get("dcgan-fashion-mnist").with_overrides([pair])
    assert "\n" not in str(error.value)


def test_unknown_recipe():
    with pytest.raises(ZooError, match="unknown recipe 'x'; available: gan-mlp-mnist"):
        recipes.get("x")


def test_round_trip_through_dict():
    recipe = recipes.get("gan-mlp-mnist")
    assert recipes.Recipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    with pytest.raises(ZooError, match="unknown recipe keys: extra"):
        recipes.Recipe.from_dict({**recipe.to_dict(), "extra": 1})


def test_a_run_dir_refuses_another_recipe_but_accepts_more_epochs(tmp_path):
    recipe = recipes.get("dcgan-fashion-mnist")
    _write_or_check_config(recipe, tmp_path)
    _write_or_check_config(recipe.with_overrides(["epochs=50"]), tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["epochs"] == 50
    _write_or_check_config(recipe.with_overrides(["epochs=50", "eval_every=3"]), tmp_path)  # logging only
    with pytest.raises(ZooError, match="differs in g_lr"):
        _write_or_check_config(recipe.with_overrides(["g_lr=0.1"]), tmp_path)
