"""Stabilizing tricks as components: one file each, registered once.

A trick owns its settings (model arguments, recipe fields and `--set` keys, all derived
from `settings`), their checks, the state it keeps on the model, and the phases of the
adversarial step it acts in. The step (`zoo.models.adversarial`) calls every trick that is
on at each phase, in file-name order, and names no trick itself; a new trick is a new file
in this folder, found at import.

The phases, in the order a training step reaches them (after StyleGAN2-ADA's named phases):

    networks(generator, discriminator)  before the model is built: replace or constrain layers
    discriminator_options()             options for D's builder (e.g. an extra layer)
    build(model)                        create the trick's state on the model (saved with it)
    begin_step(model)                   once per train_step, before any network runs
    augment(model, images)              what D sees of real and fake images, in training
    smoothing()                         D's loss: one-sided smoothing of the real target
    d_penalty(model, real, fake, labels)   per-example term added to D's loss
    d_regularizer(model)                scalar added to D's loss
    after_d_update(model)               after each D update
    g_regularizer(model, features)      scalar added to G's loss; `features` holds D's
                                        `features` layer on the real and fake minibatch
                                        when a trick `needs_features`
    after_g_update(model)               after each G update
    sampler(model)                      the generator users sample from, if not G
    weights_loaded(model)               after G's weights were replaced (a preset loaded)
"""

import dataclasses
import importlib
import pkgutil
import typing

_AS_DEFAULT = "as default"  # a recipe field's default is the setting's


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting of a trick: a model argument, a recipe field and a `--set` key.

    `recipe_default` is the recipe field's default; None there means "the variant's own
    default" (a variant may turn a trick on, as wgan-gp does its gradient penalty).
    """

    name: str
    type: type
    default: typing.Any
    help: str
    recipe_default: typing.Any = _AS_DEFAULT

    @property
    def recipe_field(self) -> tuple[str, typing.Any, typing.Any]:
        """(name, type, default) for `dataclasses.make_dataclass`."""
        default = self.default if self.recipe_default == _AS_DEFAULT else self.recipe_default
        type_ = self.type | None if default is None else self.type
        return self.name, type_, dataclasses.field(default=default, metadata={"help": self.help})


class Trick:
    """A stabilizing trick. Subclasses set `settings` (the first one turns the trick on
    when it is non-zero or non-empty) and override the phases they act in."""

    settings: typing.ClassVar[tuple[Setting, ...]] = ()
    needs_features: typing.ClassVar[bool] = False  # g_regularizer reads D's features

    def __init__(self, **values):
        for setting in self.settings:
            value = values.get(setting.name, setting.default)
            setattr(self, setting.name, setting.type(value) if value is not None else setting.default)
        self.check()

    @property
    def on(self) -> bool:
        return bool(getattr(self, self.settings[0].name))

    def check(self) -> None:
        """Raises ValueError for values the trick cannot use; by default, negative numbers."""
        for setting in self.settings:
            value = getattr(self, setting.name)
            if setting.type in (int, float) and value < 0:
                raise ValueError(f"{setting.name} must be non-negative. Received: {setting.name}={value!r}")

    def config(self) -> dict:
        return {s.name: getattr(self, s.name) for s in self.settings}

    # Phases; every one does nothing unless a trick overrides it.
    def networks(self, generator, discriminator):
        return generator, discriminator

    def discriminator_options(self) -> dict:
        return {}

    def build(self, model) -> None:
        pass

    def begin_step(self, model) -> None:
        pass

    def augment(self, model, images):
        return images

    def smoothing(self) -> float:
        return 0.0

    def d_penalty(self, model, real, fake, labels):
        return None

    def d_regularizer(self, model):
        return None

    def after_d_update(self, model) -> None:
        pass

    def g_regularizer(self, model, features):
        return None

    def after_g_update(self, model) -> None:
        pass

    def sampler(self, model):
        return None

    def weights_loaded(self, model) -> None:
        pass


_TRICKS: dict[str, type[Trick]] = {}


def register(cls: type[Trick]) -> type[Trick]:
    """Registers a trick under its module's name (`zoo.models.tricks.<name>`)."""
    name = cls.__module__.rsplit(".", 1)[-1]
    taken = {s.name for t in _TRICKS.values() for s in t.settings}
    clash = sorted(taken & {s.name for s in cls.settings})
    if name in _TRICKS or clash:
        raise ValueError(f"Trick {name!r} is registered twice or reuses settings {clash}.")
    cls.name = name
    _TRICKS[name] = cls
    return cls


def _discover() -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}")


def registered() -> list[type[Trick]]:
    """Every trick, in file-name order (the order they act within a phase)."""
    return [_TRICKS[name] for name in sorted(_TRICKS)]


def settings() -> list[Setting]:
    return [s for trick in registered() for s in trick.settings]


def split(kwargs: dict) -> dict:
    """Removes every trick setting from `kwargs` and returns them."""
    names = {s.name for s in settings()}
    return {k: kwargs.pop(k) for k in list(kwargs) if k in names}


def make(values: dict) -> list[Trick]:
    """Every trick with its settings from `values` (defaults for the rest)."""
    return [trick(**{s.name: values[s.name] for s in trick.settings if s.name in values})
            for trick in registered()]  # fmt: skip


def discriminator_options(values: dict) -> dict:
    """Options for D's builder from the tricks that are on in `values` (model arguments)."""
    options = {}
    for trick in make(values):
        if trick.on:
            options.update(trick.discriminator_options())
    return options


_discover()
