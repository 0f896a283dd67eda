"""Trained GANs on disk, loaded one way: run directories and presets.

A run directory is what `ganzoo train` writes; its `final.keras` holds G, D and the
optimizers' state. A preset is what ships: `presets/<recipe>/` in this repository, or any
folder `save_preset` wrote. Like a keras-hub preset it holds the model's config and its
weights, no optimizer state, so it loads without the training code:

    preset.json               the card: how it was trained (command, commit, steps, seconds,
                              machine) and how good it is (`ganzoo eval` figures), the files' sha256
    config.json               the recipe it was trained from
    model.json                the GAN's Keras config, rebuilt with safe_mode
    generator.weights.h5      the generator users sample from (G's EMA where kept)
    discriminator.weights.h5  D
    judge/                    the run's calibrated judge (zoo.evaluation.judge), when it had one

The two weights files store float16 (half the bytes); they load into the float32 model
that every figure on the card was measured on.

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

CARD = "preset.json"
FORMAT = "gan-zoo-preset/1"
WEIGHTS = {"generator": "generator.weights.h5", "discriminator": "discriminator.weights.h5"}


def shipped_dir() -> Path:
    """Where the presets shipped with the package live (the repository's presets/)."""
    return Path(str(importlib.resources.files("presets")))


def shipped() -> dict[str, Path]:
    """name -> folder of every preset shipped with the package."""
    root = shipped_dir()
    return {p.parent.name: p.parent for p in sorted(root.glob(f"*/{CARD}"))}


@dataclasses.dataclass(frozen=True)
class Trained:
    """A trained GAN on disk: a run directory (`kind="run"`) or a preset (`kind="preset"`).

    Attributes:
        path: the folder.
        kind: "run" or "preset".
        config: the recipe it was trained from (a run's or preset's config.json).
        card: a preset's preset.json; None for a run.
    """

    path: Path
    kind: str
    config: dict
    card: dict | None = None

    @property
    def name(self) -> str:
        return self.card["name"] if self.card else self.path.name

    @property
    def dataset(self) -> str:
        return self.config["dataset"]

    @property
    def source(self):
        """Its training data as a `zoo.data.Source`, preprocessed as it was trained."""
        from zoo import data

        return data.source_of(self.config)

    @property
    def judge_dir(self) -> Path:
        return self.path / "judge"

    def model(self):
        """The trained GAN (a `zoo.AdversarialModel`), loaded with safe_mode."""
        import keras

        import zoo.models.variants  # noqa: F401  (registers the variants for deserialization)
        from zoo.models.adversarial import AdversarialModel

        if self.kind == "run":
            path = self.path / "final.keras"
            try:
                return keras.models.load_model(path, safe_mode=True)
            except Exception as e:
                raise ZooError(f"cannot load {path}: {type(e).__name__}: {first_line(e)}") from e
        self.verify()
        config = read_json_object(self.path / "model.json", self._advice)
        try:
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
        except Exception as e:  # an unknown class, a bad config, or one that asks to run code
            raise ZooError(f"{self.path / 'model.json'} does not build a GAN: {first_line(e)}; "
                           f"{self._advice}") from e  # fmt: skip
        if not isinstance(model, AdversarialModel):
            raise ZooError(f"{self.path / 'model.json'} builds a {type(model).__name__}, not a GAN")
        self.load_weights_into(model, verified=True)
        return model

    def load_weights_into(self, model, verified: bool = False) -> None:
        """Gives `model` this GAN's trained G (what it samples with) and D.

        `model` must have the same networks (e.g. the same recipe, to fine-tune); its
        optimizers and other state are left as they are. G's EMA, where `model` keeps
        one, starts from the same weights. `verified`: the preset's files were just checked.
        """
        if self.kind == "run":
            trained = self.model()
            sources = {"generator": trained.sampling_generator, "discriminator": trained.discriminator}
            for name, network in (("generator", model.generator), ("discriminator", model.discriminator)):
                try:
                    network.set_weights(sources[name].get_weights())
                except ValueError as e:
                    raise ZooError(f"{self.path}'s {name} does not fit this model: {first_line(e)}") from e
        else:
            if not verified:
                self.verify()
            for name, network in (("generator", model.generator), ("discriminator", model.discriminator)):
                path = self.path / WEIGHTS[name]
                try:
                    network.load_weights(path)
                except Exception as e:  # a mismatched network, or a damaged file
                    raise ZooError(f"cannot load {path} into this model's {name}: {first_line(e)}") from e
        model.weights_loaded()  # G's EMA, where the model keeps one, starts from these weights

    def judge(self):
        """The calibrated judge (`zoo.evaluation.judge.Judge`) that came with it, or None."""
        from zoo.evaluation.judge import Judge

        return Judge.load(self.judge_dir) if self.judge_dir.is_dir() else None

    def verify(self) -> None:
        """Checks a preset's files against the sha256 its card lists (a run has nothing to check)."""
        if self.kind != "preset":
            return
        files = self.card.get("files")
        if not isinstance(files, dict) or not files:
            raise ZooError(f"{self.path / CARD} lists no files; {self._advice}")
        for name, expected in files.items():
            file = self.path / name
            if not file.is_file():
                raise ZooError(f"preset {self.name}: {name} is missing; {self._advice}")
            if sha256(file) != expected:
                raise ZooError(f"preset {self.name}: {name} does not match its sha256; {self._advice}")

    @property
    def _advice(self) -> str:
        return f"the preset is damaged: restore {self.path} or save it again (ganzoo preset RUN --out DIR)"


def locate(source: str | Path) -> Trained:
    """A run directory, a preset folder, or the name of a shipped preset, as a `Trained`."""
    path = Path(source)
    if path.is_dir():
        return _preset(path) if (path / CARD).is_file() else _run(path)
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
    return Trained(path, "run", _checked_config(config, path, advice))


def _preset(path: Path) -> Trained:
    advice = f"restore {path} or save it again (ganzoo preset RUN --out DIR)"
    card = read_json_object(path / CARD, advice)
    if card.get("format") != FORMAT or not isinstance(card.get("name"), str):
        raise ZooError(f"{path / CARD} is not a {FORMAT} card; {advice}")
    config = read_json_object(path / "config.json", advice, "recipe (a JSON object)")
    return Trained(path, "preset", _checked_config(config, path, advice), card)


def _checked_config(config: dict, path: Path, advice: str) -> dict:
    if not all(isinstance(config.get(key), str) and config[key] for key in ("name", "variant", "dataset")):
        raise ZooError(f"{path / 'config.json'} is not a complete recipe (a name, variant and dataset); "
                       f"{advice}")  # fmt: skip
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
    config: dict,
    judge_dir: Path | None = None,
    card: dict | None = None,
    measure: Callable[[Trained], dict] | None = None,
    replace: bool = False,
) -> Trained:
    """Writes `model` (G for sampling, D; float16) as a preset folder; returns it.

    `card` fills preset.json; `measure`, given the staged preset, returns more of it (its
    quality figures), so they describe the float16 weights that ship, not the run. The
    folder is assembled under a temporary name and renamed at the end.
    """
    import keras

    out_dir = Path(out_dir)
    with staged_folder(out_dir, replace) as staging:
        write_json(staging / "config.json", config)
        # As keras-hub writes a preset's config: the model alone, no build or compile config.
        serialized = _float32_policies(keras.saving.serialize_keras_object(model))
        serialized.pop("compile_config", None)
        serialized.pop("build_config", None)
        write_json(staging / "model.json", serialized)
        networks = {"generator": model.sampling_generator, "discriminator": model.discriminator}
        for name, network in networks.items():
            network.save_weights(staging / WEIGHTS[name])
            _to_float16(staging / WEIGHTS[name])
        if judge_dir is not None and Path(judge_dir).is_dir():
            shutil.copytree(judge_dir, staging / "judge")
        card = {"format": FORMAT, "name": out_dir.name, **(card or {})}
        card["files"] = file_hashes(staging, skip=CARD)
        write_json(staging / CARD, card)
        if measure is not None:
            card.update(measure(_preset(staging)))
            write_json(staging / CARD, card)
    return _preset(out_dir)


def _float32_policies(config):
    """A serialized model with every mixed-precision policy set to float32: a preset trained
    in bfloat16 or float16 loads as a float32 model, the one its card's figures describe."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and str(config.get("config", {}).get("name")).startswith(
            "mixed_"
        ):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {k: _float32_policies(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_float32_policies(v) for v in config]
    if isinstance(config, str) and config.startswith("mixed_"):
        return "float32"
    return config


def _to_float16(path: Path) -> None:
    """Rewrites a Keras weights file with every float32 array as float16 (Keras loads them
    back into float32 variables). A new file: HDF5 does not give back a deleted array's space."""
    import h5py
    import numpy as np

    tmp = path.with_name(f".{path.name}.float16")
    with h5py.File(path, "r") as source, h5py.File(tmp, "w") as target:
        target.attrs.update(source.attrs)

        def copy(name, item):
            if isinstance(item, h5py.Group):
                target.create_group(name).attrs.update(item.attrs)
                return
            values = item[()]
            if values.dtype == np.float32:
                values = values.astype(np.float16)
                if not np.isfinite(values).all():
                    raise ZooError(f"{path.name}: {name} does not fit in float16")
            target.create_dataset(name, data=values).attrs.update(item.attrs)

        source.visititems(copy)
    tmp.replace(path)
