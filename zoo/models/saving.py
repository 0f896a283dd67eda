"""A GAN as a preset folder, in keras-hub's layout and conventions.

    config.json               the GAN's Keras config (class, G, D, tricks), no build or
                              compile config: rebuilt with safe_mode after its class is checked
    metadata.json             Keras, TensorFlow and gan-zoo versions, parameter counts, the
                              date, and the sha256 of every other file in the folder
    generator.weights.h5      the generator users sample with (G's EMA where kept)
    discriminator.weights.h5  D

The weights are stored as float16 (half the bytes) and load into the float32 model; the
config holds float32 policies whatever precision trained it. `save_to_preset` and
`from_preset` are an inverse pair for any zoo GAN, one built by hand with `zoo.build`
included; `zoo.presets` adds what a trained run brings (its recipe, card and judge).
"""

import datetime
from pathlib import Path

from zoo.contract import file_hashes, sha256
from zoo.errors import ZooError, first_line
from zoo.files import read_json_object, staged_folder, write_json

FORMAT = "gan-zoo-preset/2"
CONFIG, METADATA = "config.json", "metadata.json"
WEIGHTS = {"generator": "generator.weights.h5", "discriminator": "discriminator.weights.h5"}


def write_model(model, folder: Path) -> None:
    """config.json and the two float16 weights files of `model` into `folder`."""
    import keras

    write_json(folder / CONFIG, model_config(keras.saving.serialize_keras_object(model)))
    for name, network in (("generator", model.sampling_generator), ("discriminator", model.discriminator)):
        network.save_weights(folder / WEIGHTS[name])
        _to_float16(folder / WEIGHTS[name])


def metadata(model, folder: Path, **extra) -> dict:
    """metadata.json for the files in `folder`: versions, parameter counts, date, sha256."""
    from importlib.metadata import PackageNotFoundError, version

    import keras
    import tensorflow as tf

    try:
        zoo_version = version("gan-zoo")
    except PackageNotFoundError:  # run from a checkout that was never installed
        zoo_version = None
    return {
        "format": FORMAT,
        "class_name": type(model).__name__,
        "variant": getattr(type(model), "variant_name", None),
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "gan_zoo_version": zoo_version,
        "parameter_count": {
            "generator": int(model.sampling_generator.count_params()),
            "discriminator": int(model.discriminator.count_params()),
        },
        "date_saved": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        **extra,
        "files": file_hashes(folder, skip=METADATA),
    }


def save_to_preset(model, preset_dir: str | Path, replace: bool = False) -> Path:
    """Writes `model` as a preset folder (assembled under a temporary name, then renamed)."""
    preset_dir = Path(preset_dir)
    with staged_folder(preset_dir, replace) as staging:
        write_model(model, staging)
        write_json(staging / METADATA, metadata(model, staging))
    return preset_dir


def read_metadata(preset_dir: Path, advice: str) -> dict:
    meta = read_json_object(preset_dir / METADATA, advice)
    if meta.get("format") != FORMAT or not isinstance(meta.get("files"), dict) or not meta["files"]:
        raise ZooError(f"{preset_dir / METADATA} is not a {FORMAT} metadata file; {advice}")
    return meta


def verify(preset_dir: Path, meta: dict, advice: str) -> None:
    """Checks every file metadata.json lists against its sha256."""
    for name, expected in meta["files"].items():
        file = preset_dir / name
        if not file.is_file():
            raise ZooError(f"preset {preset_dir.name}: {name} is missing; {advice}")
        if sha256(file) != expected:
            raise ZooError(f"preset {preset_dir.name}: {name} does not match its sha256; {advice}")


def gan_class(config: dict, path: Path):
    """The registered zoo GAN class `config` names, checked before anything is built."""
    import zoo.models.variants  # noqa: F401  (registers the variants)
    from zoo.models.adversarial import AdversarialModel

    name = config.get("registered_name") or config.get("class_name")
    cls = None
    if isinstance(name, str):
        import keras

        cls = keras.saving.get_registered_object(name) or keras.saving.get_registered_object(f"zoo>{name}")
    if not (isinstance(cls, type) and issubclass(cls, AdversarialModel)):
        raise ZooError(f"{path} describes {name!r}, not a gan-zoo GAN")
    return cls


def load(preset_dir: Path, advice: str):
    """The GAN of a preset folder: files verified, class checked, built with safe_mode, weights loaded."""
    import keras

    meta = read_metadata(preset_dir, advice)
    verify(preset_dir, meta, advice)
    config = read_json_object(preset_dir / CONFIG, advice)
    gan_class(config, preset_dir / CONFIG)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as e:  # a bad config, or one that asks to run code
        raise ZooError(f"{preset_dir / CONFIG} does not build a GAN: {first_line(e)}; {advice}") from e
    load_weights(preset_dir, model)
    return model


def load_weights(preset_dir: Path, model) -> None:
    """Gives `model` the preset's G (what it samples with) and D; a G's EMA starts from them."""
    for name, network in (("generator", model.generator), ("discriminator", model.discriminator)):
        path = preset_dir / WEIGHTS[name]
        try:
            network.load_weights(path)
        except Exception as e:  # a mismatched network, or a damaged file
            raise ZooError(f"cannot load {path} into this model's {name}: {first_line(e)}") from e
    model.weights_loaded()


def model_config(serialized: dict) -> dict:
    """A serialized GAN as config.json holds it: float32 policies, and no build or compile
    config at any depth (a functional network rebuilds its layers by calling them)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("build_config", "compile_config")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(as_float32(serialized))


def as_float32(config):
    """A serialized model with every mixed-precision policy set to float32: a model trained
    in bfloat16 or float16 comes back as the float32 model its figures describe."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and str(config.get("config", {}).get("name")).startswith(
            "mixed_"
        ):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {k: as_float32(v) for k, v in config.items()}
    if isinstance(config, list):
        return [as_float32(v) for v in config]
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
