"""Named, typed training recipes: a frozen dataclass each, overridable with `key=value`."""

import dataclasses
import types
import typing
from dataclasses import dataclass

from recipes.quiet_tensorflow import import_tensorflow_quietly

import_tensorflow_quietly()  # before `zoo` loads it, noisily

from zoo.errors import ZooError  # noqa: E402

DEFAULT_RECIPE = "dcgan-fashion-mnist"


@dataclass(frozen=True)
class Recipe:
    """Everything that defines a training run; saved as the run's config.json."""

    name: str
    variant: str  # a name in zoo.available()
    dataset: str  # a name in zoo.data.DATASETS
    description: str = ""
    latent_dim: int = 100
    g_width: int = 64  # generator width (see the variant's create())
    d_width: int = 64  # discriminator width
    d_dropout: float = 0.3  # MLP discriminators only
    loss: str = "non_saturating"  # a name in zoo.losses.LOSSES
    label_smoothing: float = 0.0  # one-sided: real target 1 - label_smoothing
    d_steps: int = 1  # discriminator updates per generator update (k)
    batch_size: int = 128  # images per discriminator update
    epochs: int = 20
    steps_per_epoch: int | None = None  # None: one pass over the data per epoch
    optimizer: str = "adam"  # adam | sgd (momentum SGD, as in the original GAN)
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    beta_1: float = 0.5  # Adam's beta_1 (DCGAN's 0.5)
    momentum: float = 0.9  # SGD momentum
    jit_compile: bool = False  # XLA; measured slower than oneDNN on CPU (DESIGN.md)
    seed: int = 0
    grid_every: int = 1  # epochs between sample grids

    def __post_init__(self):
        for name in (
            "latent_dim",
            "g_width",
            "d_width",
            "d_steps",
            "batch_size",
            "epochs",
            "grid_every",
        ):
            if getattr(self, name) < 1:
                raise ZooError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ZooError(f"steps_per_epoch must be at least 1, got {self.steps_per_epoch}")
        if self.optimizer not in ("adam", "sgd"):
            raise ZooError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ZooError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0.0 <= self.d_dropout < 1.0:
            raise ZooError(f"d_dropout must be in [0, 1), got {self.d_dropout}")
        for name in ("g_lr", "d_lr"):
            if getattr(self, name) <= 0:
                raise ZooError(f"{name} must be positive, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: dict) -> "Recipe":
        unknown = sorted(set(config) - _field_types(cls).keys())
        if unknown:
            raise ZooError(f"unknown recipe keys: {', '.join(unknown)}")
        return cls(**config)

    def with_overrides(self, pairs: typing.Iterable[str]) -> "Recipe":
        """Applies `key=value` strings, each value parsed as its field's type."""
        types_ = _field_types(type(self))
        changes = {}
        for pair in pairs:
            key, sep, text = pair.partition("=")
            key = key.strip()
            if not sep:
                raise ZooError(f"--set expects key=value, got {pair!r}")
            if key not in types_ or key == "name":
                settable = sorted(k for k in types_ if k != "name")
                raise ZooError(f"unknown recipe key {key!r}; valid keys: {', '.join(settable)}")
            changes[key] = _parse(key, text.strip(), types_[key])
        return dataclasses.replace(self, **changes)


def _field_types(cls) -> dict[str, typing.Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _parse(key: str, text: str, type_) -> typing.Any:
    """Parses `text` as `type_` (int, float, bool, str or `X | None`)."""
    if isinstance(type_, types.UnionType):
        if text.lower() in ("none", "null", ""):
            return None
        (type_,) = [t for t in typing.get_args(type_) if t is not type(None)]
    try:
        if type_ is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if type_ in (int, float, str):
            return type_(text)
    except ValueError:
        raise ZooError(f"{key} expects {type_.__name__}, got {text!r}") from None
    raise ZooError(f"{key} cannot be set from the command line")


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            name="gan-mlp-mnist",
            variant="gan",
            dataset="mnist",
            description="Goodfellow et al.'s MLP GAN on MNIST, momentum SGD as in the paper",
            g_width=256,
            d_width=256,
            optimizer="sgd",
            g_lr=0.02,
            d_lr=0.02,
            momentum=0.7,
            batch_size=100,
            epochs=50,
        ),
        Recipe(
            name="gan-mlp-fashion-mnist",
            variant="gan",
            dataset="fashion_mnist",
            description="MLP GAN on Fashion-MNIST with Adam",
            g_width=256,
            d_width=256,
            epochs=30,
        ),
        Recipe(
            name="dcgan-fashion-mnist",
            variant="dcgan",
            dataset="fashion_mnist",
            description="DCGAN on Fashion-MNIST (the default recipe)",
            latent_dim=100,
            g_width=64,
            d_width=64,
            label_smoothing=0.1,
            epochs=20,
        ),
        Recipe(
            name="dcgan-cifar10",
            variant="dcgan",
            dataset="cifar10",
            description="DCGAN on CIFAR-10 (32x32 RGB)",
            g_width=64,
            d_width=64,
            epochs=50,
        ),
        Recipe(
            name="dcgan-celeba-64",
            variant="dcgan",
            dataset="celeb_a",
            description="DCGAN on CelebA faces, center-cropped to 64x64 as in the paper",
            g_width=64,
            d_width=64,
            epochs=20,
        ),
    ]
}


def get(name: str) -> Recipe:
    if name not in RECIPES:
        raise ZooError(f"unknown recipe {name!r}; available: {', '.join(RECIPES)}")
    return RECIPES[name]


def run(recipe: Recipe, run_dir, **kwargs):
    """Trains `recipe` into `run_dir`; see `recipes.training.train`."""
    from recipes.training import train

    return train(recipe, run_dir, **kwargs)
