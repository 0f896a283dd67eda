"""Trained GANs on disk, loaded one way: run directories and presets.

A run directory is what `ganzoo train` writes; its `final.keras` holds G, D and the
optimizers' state, its `config.json` the recipe. A preset is what ships:
`presets/<recipe>/` in this repository, or any folder `save_preset` or
`model.save_to_preset` wrote. It has keras-hub's layout (`zoo.models.saving`: config.json is
the model, metadata.json the versions, parameter counts and every file's sha256, then the
float16 weights of G and D) and, for a trained run, three more files:

    recipe.json   the recipe it was trained from
    card.json     how it was trained (command, commit, steps, seconds, machine) and how good
                  it is (`ganzoo eval` figures on the weights that ship)
    judge/        the run's calibrated judge (zoo.evaluation.judge), when it had one

A preset written before this layout (preset.json, model.json) is refused with the command
that converts it (`ganzoo preset --upgrade DIR`, `upgrade` here) without retraining.

`locate(source)` takes a run directory, a preset folder or a shipped preset's name; every
command that reads a trained GAN goes through it.
"""

import dataclasses
import importlib.resources
import shutil
from collections.abc import Callable
from pathlib import Path

from zoo.contract import file_hashes, sha256
from zoo.errors import ZooError, first_line
from zoo.files import read_json_object, staged_folder, write_json
from zoo.models import saving

RECIPE, CARD = "recipe.json", "card.json"
OLD_CARD, OLD_FORMAT = "preset.json", "gan-zoo-preset/1"  # the layout before keras-hub's


def shipped_dir() -> Path:
    """Where the presets shipped with the package live (the repository's presets/)."""
    return Path(str(importlib.resources.files("presets")))


def shipped() -> dict[str, Path]:
    """name -> folder of every preset shipped with the package."""
    root = shipped_dir()
    return {p.parent.name: p.parent for p in sorted(root.glob(f"*/{saving.METADATA}"))}


@dataclasses.dataclass(frozen=True)
class Trained:
    """A trained GAN on disk: a run directory (`kind="run"`) or a preset (`kind="preset"`).

    Attributes:
        path: the folder.
        kind: "run" or "preset".
        config: the recipe it was trained from; None for a preset of a model built by hand.
        card: a preset's card.json (None for a run, or a preset without one).
        metadata: a preset's metadata.json; None for a run.
    """

    path: Path
    kind: str
    config: dict | None
    card: dict | None = None
    metadata: dict | None = None

    @property
    def name(self) -> str:
        return (self.card or {}).get("name") or self.path.name

    @property
    def dataset(self) -> str:
        return self.recipe["dataset"]

    @property
    def recipe(self) -> dict:
        """The recipe, or a ZooError for a preset saved without one."""
        if self.config is None:
            raise ZooError(f"{self.path} holds a model saved without its recipe (no {RECIPE}); "
                           "it can be sampled and exported, not evaluated or fine-tuned")  # fmt: skip
        return self.config

    @property
    def source(self):
        """Its training data as a `zoo.data.Source`, preprocessed as it was trained."""
        from zoo import data

        return data.source_of(self.recipe)

    @property
    def judge_dir(self) -> Path:
        return self.path / "judge"

    def model(self):
        """The trained GAN (a `zoo.AdversarialModel`), loaded with safe_mode."""
        import keras

        import zoo.models.variants  # noqa: F401  (registers the variants for deserialization)

        if self.kind == "run":
            path = self.path / "final.keras"
            try:
                return keras.models.load_model(path, safe_mode=True)
            except Exception as e:
                raise ZooError(f"cannot load {path}: {type(e).__name__}: {first_line(e)}") from e
        return saving.load(self.path, self._advice)

    def load_weights_into(self, model) -> None:
        """Gives `model` this GAN's trained G (what it samples with) and D.

        `model` must have the same networks (e.g. the same recipe, to fine-tune); its
        optimizers and other state are left as they are. G's EMA, where `model` keeps
        one, starts from the same weights.
        """
        if self.kind == "preset":
            self.verify()
            saving.load_weights(self.path, model)
            return
        trained = self.model()
        sources = {"generator": trained.sampling_generator, "discriminator": trained.discriminator}
        for name, network in (("generator", model.generator), ("discriminator", model.discriminator)):
            try:
                network.set_weights(sources[name].get_weights())
            except ValueError as e:
                raise ZooError(f"{self.path}'s {name} does not fit this model: {first_line(e)}") from e
        model.weights_loaded()

    def judge(self):
        """The calibrated judge (`zoo.evaluation.judge.Judge`) that came with it, or None."""
        from zoo.evaluation.judge import Judge

        return Judge.load(self.judge_dir) if self.judge_dir.is_dir() else None

    def verify(self) -> None:
        """Checks a preset's files against the sha256 its metadata lists (a run has nothing to check)."""
        if self.kind == "preset":
            saving.verify(self.path, self.metadata, self._advice)

    @property
    def _advice(self) -> str:
        return f"the preset is damaged: restore {self.path} or save it again (ganzoo preset RUN --out DIR)"


def locate(source: str | Path) -> Trained:
    """A run directory, a preset folder, or the name of a shipped preset, as a `Trained`."""
    path = Path(source)
    if path.is_dir():
        if (path / saving.METADATA).is_file():
            return _preset(path)
        if (path / OLD_CARD).is_file():
            raise ZooError(f"{path} is a preset in the layout before metadata.json; convert it with "
                           f"`ganzoo preset --upgrade {path}` (no retraining)")  # fmt: skip
        return _run(path)
    presets = shipped()
    if str(source) in presets:
        return _preset(presets[str(source)])
    names = ", ".join(presets) or "none"
    raise ZooError(f"{source} is not a run directory, a preset folder or a shipped preset (shipped: {names})")


def _run(path: Path) -> Trained:
    if not (path / "final.keras").is_file():
        raise ZooError(f"{path} has no final.keras; train it first (ganzoo train --run-dir {path})")
    advice = "restore it or train a new run"
    config = read_json_object(path / "config.json", advice, "recipe (a JSON object)")
    return Trained(path, "run", _checked_recipe(config, path / "config.json", advice))


def _preset(path: Path) -> Trained:
    advice = f"restore {path} or save it again (ganzoo preset RUN --out DIR)"
    metadata = saving.read_metadata(path, advice)
    recipe = card = None
    if (path / RECIPE).is_file():
        recipe = read_json_object(path / RECIPE, advice, "recipe (a JSON object)")
        recipe = _checked_recipe(recipe, path / RECIPE, advice)
    if (path / CARD).is_file():
        card = read_json_object(path / CARD, advice)
    return Trained(path, "preset", recipe, card, metadata)


def _checked_recipe(config: dict, path: Path, advice: str) -> dict:
    if not all(isinstance(config.get(key), str) and config[key] for key in ("name", "variant", "dataset")):
        raise ZooError(f"{path} is not a complete recipe (a name, variant and dataset); {advice}")
    return config


def from_preset(source: str | Path):
    """The trained GAN of a shipped preset (by name), a preset folder or a run directory.

    Example:
    >>> gan = zoo.from_preset("cgan-fashion-mnist")
    >>> images = gan.generate(20)  # two of each class, in [-1, 1]
    """
    return locate(source).model()


def save_preset(
    model,
    out_dir: str | Path,
    recipe: dict | None = None,
    judge_dir: Path | None = None,
    card: dict | None = None,
    measure: Callable[[Trained], dict] | None = None,
    replace: bool = False,
) -> Trained:
    """Writes `model` (G for sampling, D; float16) as a preset folder with its recipe, judge
    and card; returns it.

    `measure`, given the staged preset, returns more of the card (its quality figures), so
    they describe the float16 weights that ship, not the run. The folder is assembled under
    a temporary name and renamed at the end.
    """
    out_dir = Path(out_dir)
    with staged_folder(out_dir, replace) as staging:
        saving.write_model(model, staging)
        if recipe is not None:
            write_json(staging / RECIPE, recipe)
        if judge_dir is not None and Path(judge_dir).is_dir():
            shutil.copytree(judge_dir, staging / "judge")
        card = {"name": out_dir.name, **(card or {})}
        write_json(staging / CARD, card)
        write_json(staging / saving.METADATA, saving.metadata(model, staging))
        if measure is not None:
            card.update(measure(_preset(staging)))
            write_json(staging / CARD, card)
            write_json(staging / saving.METADATA, saving.metadata(model, staging))
    return _preset(out_dir)


def sample_grid(model):
    """A preset's picture, as the README and the gallery show it: a square grid with a column
    per class or code value (as many rows; each row of an InfoGAN code sweep shares z), else
    8 x 8, from seed 0: uint8 (H, W, C)."""
    from zoo import contract

    if getattr(model, "categorical_code", 0):
        k = model.categorical_code
        return contract.grid(model.generate(k * k, inputs=model.code_sweep(k, seed=0)), cols=k)
    cols = model.grid_columns or 8
    return contract.grid(model.generate(cols * cols, seed=0), cols=cols)


def rehash(preset: Trained) -> None:
    """Rewrites a preset's metadata.json with the sha256 of its files as they are now (after
    its card or judge was deliberately rewritten)."""
    metadata = {**preset.metadata, "files": file_hashes(preset.path, skip=saving.METADATA)}
    write_json(preset.path / saving.METADATA, metadata)


def upgrade(old_dir: str | Path) -> Trained:
    """Converts a preset in the layout before metadata.json (preset.json, model.json,
    config.json as the recipe) in place, without retraining: every file is first checked
    against the sha256 its old card lists, and the weights and judge are kept byte for byte."""
    import keras

    old_dir = Path(old_dir)
    advice = f"restore {old_dir} from the repository"
    old_card = read_json_object(old_dir / OLD_CARD, advice)
    if old_card.get("format") != OLD_FORMAT or not isinstance(old_card.get("files"), dict):
        raise ZooError(f"{old_dir / OLD_CARD} is not a {OLD_FORMAT} card; {advice}")
    for name, expected in old_card["files"].items():
        if not (old_dir / name).is_file() or sha256(old_dir / name) != expected:
            raise ZooError(f"{old_dir / name} is missing or does not match its sha256; {advice}")
    old_config = read_json_object(old_dir / "model.json", advice)
    saving.gan_class(old_config, old_dir / "model.json")
    with staged_folder(old_dir, replace=True) as staging:
        config = saving.model_config(old_config)
        write_json(staging / saving.CONFIG, config)
        shutil.copyfile(old_dir / "config.json", staging / RECIPE)
        for name in saving.WEIGHTS.values():
            shutil.copyfile(old_dir / name, staging / name)
        if (old_dir / "judge").is_dir():
            shutil.copytree(old_dir / "judge", staging / "judge")
        card = {k: v for k, v in old_card.items() if k not in ("format", "files")}
        write_json(staging / CARD, card)
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)  # for its parameter counts
        converted = {"from": OLD_FORMAT, "sha256_checked": sorted(old_card["files"])}
        write_json(staging / saving.METADATA, saving.metadata(model, staging, converted=converted))
    return _preset(old_dir)
