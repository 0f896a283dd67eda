"""The recipe types: frozen dataclasses, saved as a run's config.json, overridable with `key=value`."""

import dataclasses
import math
import types
import typing
from dataclasses import dataclass

from zoo.errors import ZooError
from zoo.models import tricks


class _Overridable:
    """What every recipe type shares: dict round trip and typed `key=value` overrides."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: dict):
        unknown = sorted(set(config) - _field_types(cls).keys())
        if unknown:
            raise ZooError(f"unknown recipe keys: {', '.join(unknown)}")
        return cls(**config)

    def with_overrides(self, pairs: typing.Iterable[str]):
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


@dataclass(frozen=True)
class _RecipeFields(_Overridable):
    """Everything that defines a training run but the tricks' settings (see `Recipe`)."""

    name: str
    variant: str  # a name in zoo.available()
    dataset: str  # a folder, a .npy/.npz file or a tfds name (zoo.data)
    description: str = ""
    image_size: int | None = None  # square side, 28 to 128 (zoo.data.supported_sizes); None: the data's own
    channels: int | None = None  # 1 (grayscale) or 3 (RGB); None: the data's own, RGBA counting as RGB
    fit: str = "crop"  # non-square images: centre-"crop" or "pad" to a square
    background: str = "white"  # under transparent pixels and in padding: white, black, gray or #rrggbb
    resize: str = "bilinear"  # tf.image.resize method, anti-aliased when downscaling
    latent_dim: int = 100
    g_width: int = 64  # generator width (see the variant's create())
    d_width: int = 64  # discriminator width
    d_dropout: float = 0.3  # MLP discriminators only
    g_batch_norm: bool = False  # MLP generators only: batch norm before each hidden ReLU (DCGAN's G has it)
    classify_fakes: bool = True  # AC-GAN only: D's class head also learns G's samples' labels (the paper)
    loss: str | None = None  # a name in zoo.models.losses.LOSSES
    d_steps: int | None = None  # discriminator updates per generator update (k)
    batch_size: int = 128  # images per discriminator update
    epochs: int = 20
    steps_per_epoch: int | None = None  # None: one pass over the data per epoch
    backup_every: int = 500  # steps between backups (and at every epoch's end); 0: epoch ends only
    optimizer: str = "adam"  # adam | rmsprop | sgd (momentum SGD, as in the original GAN)
    g_lr: float = 2e-4  # different g_lr and d_lr: the two time-scale update rule (TTUR)
    d_lr: float = 2e-4
    beta_1: float = 0.5  # Adam's beta_1 (DCGAN's 0.5)
    beta_2: float = 0.999  # Adam's beta_2
    momentum: float = 0.9  # SGD momentum
    jit_compile: bool | None = None  # XLA; None: by device type (off on CPU, where oneDNN is faster)
    mixed_precision: bool | None = None  # None: by device (recipes.scale.default_mixed_precision)
    seed: int = 0
    grid_every: int = 1  # epochs between sample grids
    eval_every: int = 0  # epochs between quality evaluations logged to TensorBoard; 0 is off
    eval_samples: int = 2000  # samples per such evaluation
    judge: str = "discriminator"  # the judge fitted after training: discriminator | critic | none
    critic_images: int = 20_000  # training images a critic judge learns from (against as many samples)

    def __post_init__(self):
        from zoo.data.transform import Preprocessing

        Preprocessing(self.image_size, self.channels, self.fit, self.background, self.resize)  # checks them
        if self.backup_every < 0:
            raise ZooError(f"backup_every must be 0 (epoch ends only) or more, got {self.backup_every}")
        if self.judge not in ("discriminator", "critic", "none"):
            raise ZooError(f"judge must be 'discriminator', 'critic' or 'none', got {self.judge!r}")
        at_least_one = ("latent_dim", "g_width", "d_width", "d_steps", "batch_size", "epochs", "grid_every",
                        "steps_per_epoch", "critic_images")  # fmt: skip
        for name in at_least_one:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ZooError(f"{name} must be at least 1, got {value}")
        try:  # each trick checks its own settings
            tricks.make({s.name: getattr(self, s.name) for s in tricks.settings()})
        except ValueError as e:
            raise ZooError(str(e)) from e
        if self.optimizer not in ("adam", "rmsprop", "sgd"):
            raise ZooError(f"optimizer must be 'adam', 'rmsprop' or 'sgd', got {self.optimizer!r}")
        if not 0.0 <= self.d_dropout < 1.0:
            raise ZooError(f"d_dropout must be in [0, 1), got {self.d_dropout}")
        for name in ("g_lr", "d_lr"):
            if getattr(self, name) <= 0:
                raise ZooError(f"{name} must be positive, got {getattr(self, name)}")


# Every stabilizing trick's settings are fields too, as the trick registers them
# (zoo.models.tricks): a new trick needs no edit here.
Recipe = dataclasses.make_dataclass(
    "Recipe",
    [setting.recipe_field for setting in tricks.settings()],
    bases=(_RecipeFields,),
    frozen=True,
    namespace={"__module__": __name__},
)
Recipe.__doc__ = """Everything that defines a training run; saved as the run's config.json.

The fields of `_RecipeFields`, then one per trick setting (`zoo.models.tricks.settings()`).
Fields set to None take the variant's own default (e.g. wgan's loss and d_steps).
"""


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
        if type_ is float and not math.isfinite(float(text)):
            raise ValueError(text)
        if type_ in (int, float, str):
            return type_(text)
    except ValueError:
        raise ZooError(f"{key} expects {type_.__name__}, got {text!r}") from None
    raise ZooError(f"{key} cannot be set from the command line")


@dataclass(frozen=True)
class ClassifierRecipe(_Overridable):
    """A domain classifier for the quality metrics (features and class logits)."""

    name: str
    dataset: str  # a dataset with labels (its own size and colours)
    description: str = ""
    epochs: int = 8
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ZooError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ZooError(f"lr must be positive, got {self.lr}")


