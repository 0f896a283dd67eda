"""How a recipe runs, apart from what it trains: asked for once, resolved once.

`RunOptions` is what a user asks for (`ganzoo train` flags, `recipes.run` keywords);
`resolve` turns it into `Resolved` before anything is written: the strategy (first, as a
multi-worker strategy must exist before TensorFlow runs anything), the precision policy,
XLA, determinism and the preset to start from, each decided in one place and checked
against the recipe. An option that does not apply to a recipe is refused, never dropped.
"""

import dataclasses
import os

from recipes import scale
from recipes.recipe import ClassifierRecipe, Recipe
from zoo import multi_worker, presets
from zoo.errors import ZooError


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """What a run is asked to do besides its recipe.

    Attributes:
        time_budget: stop after the step that crosses this many seconds; None: epochs decide.
        strategy: a name in `recipes.scale.STRATEGIES`.
        mixed_precision: bfloat16 (CPU, TPU) or float16 (GPU) compute with float32 weights,
            logits and losses; None: the recipe's `mixed_precision`, else
            `recipes.scale.default_mixed_precision`.
        jit: XLA; None: the recipe's `jit_compile`, else by device type.
        deterministic: TensorFlow's op determinism for the rest of the process (bit-identical
            weights for the same recipe and seed on one machine, a little slower).
        init_from: a preset or run (`zoo.presets.locate`) whose G and D start the run, to
            fine-tune it; the optimizers start fresh.
        export: write RUN/export at the end.
        verbose: Keras' `fit` verbosity.
    """

    time_budget: float | None = None
    strategy: str = "auto"
    mixed_precision: bool | None = None
    jit: bool | None = None
    deterministic: bool = False
    init_from: "str | os.PathLike | presets.Trained | None" = None
    export: bool = True
    verbose: str | int = "auto"

    # The one option a classifier recipe takes; the others train GANs only.
    CLASSIFIER_OPTIONS = ("verbose",)

    def check_applies_to(self, recipe: Recipe | ClassifierRecipe) -> None:
        """Refuses options that mean nothing for `recipe` (a time budget for a classifier)."""
        if self.time_budget is not None and not self.time_budget > 0:
            raise ZooError(f"--time-budget must be positive, got {self.time_budget}")
        if isinstance(recipe, ClassifierRecipe):
            defaults = RunOptions()
            for field in dataclasses.fields(self):
                changed = getattr(self, field.name) != getattr(defaults, field.name)
                if changed and field.name not in self.CLASSIFIER_OPTIONS:
                    flag = "--" + field.name.replace("_", "-").replace("init-from", "from-preset")
                    raise ZooError(f"{flag} does not apply to {recipe.name}")


@dataclasses.dataclass(frozen=True)
class Resolved:
    """The run options as decided: what the trainer uses, and what the summary records."""

    distribution: object  # a tf.distribute.Strategy
    device: str
    chief: bool
    policy: str  # "float32", "mixed_bfloat16" or "mixed_float16"
    jit: bool
    deterministic: bool
    time_budget: float | None
    init_from: presets.Trained | None
    export: bool
    verbose: str | int


def resolve(options: RunOptions, recipe: Recipe) -> Resolved:
    """Decides every run option for a GAN recipe, refusing what cannot run, before anything
    is written."""
    options.check_applies_to(recipe)
    distribution = scale.make_strategy(options.strategy)  # first, for multi-worker
    device = scale.device_type(distribution)
    mixed = options.mixed_precision if options.mixed_precision is not None else recipe.mixed_precision
    mixed = scale.default_mixed_precision(device) if mixed is None else mixed
    jit = options.jit if options.jit is not None else recipe.jit_compile
    jit = scale.default_jit(device) if jit is None else jit
    replicas = distribution.num_replicas_in_sync
    if recipe.batch_size % replicas:
        raise ZooError(f"batch_size {recipe.batch_size} does not split over {replicas} replicas; "
                       f"use a multiple of {replicas}")  # fmt: skip
    if jit and device == "cpu" and multi_worker.in_use(distribution):
        # TensorFlow: "Collectives are not yet implemented for CPU devices when compiling with XLA".
        raise ZooError("XLA cannot compile the cross-worker collectives on CPU; train without --jit")
    init_from = options.init_from
    if init_from is not None and not isinstance(init_from, presets.Trained):
        init_from = presets.locate(init_from)
    if init_from is not None:
        for key in ("variant", "dataset"):
            if init_from.recipe.get(key) != getattr(recipe, key):
                raise ZooError(f"{init_from.name} was trained as {key} {init_from.recipe.get(key)!r}; "
                               f"recipe {recipe.name} has {key} {getattr(recipe, key)!r}")  # fmt: skip
    return Resolved(
        distribution=distribution,
        device=device,
        chief=multi_worker.is_chief(distribution),
        policy=scale.mixed_precision_policy(device) if mixed else "float32",
        jit=bool(jit),
        deterministic=options.deterministic,
        time_budget=options.time_budget,
        init_from=init_from,
        export=options.export,
        verbose=options.verbose,
    )
