"""Named, typed training recipes (`recipes.book`) and what runs them (`recipes.trainer`),
with the `ganzoo` command (`recipes.cli`).

    >>> import recipes
    >>> recipe = recipes.get("dcgan-fashion-mnist").with_overrides(["epochs=5"])
    >>> summary = recipes.run(recipe, "runs/dcgan")
"""

from recipes.quiet_tensorflow import import_tensorflow_quietly

import_tensorflow_quietly()  # before `zoo` loads it, noisily

from recipes.book import CLASSIFIER_RECIPES, DEFAULT_RECIPE, RECIPES, get  # noqa: E402
from recipes.recipe import ClassifierRecipe, Recipe  # noqa: E402

__all__ = ["CLASSIFIER_RECIPES", "DEFAULT_RECIPE", "RECIPES", "ClassifierRecipe", "Recipe", "get", "run"]


def run(recipe: "Recipe | ClassifierRecipe", run_dir, **kwargs):
    """Trains `recipe` into `run_dir`; see `recipes.trainer.run`."""
    from recipes import trainer

    return trainer.run(recipe, run_dir, **kwargs)
