"""Samples an export folder with onnxruntime alone: no TensorFlow, no Keras.

What a deployment needs is the manifest and generator.onnx; this module reads the first
(verifying every file's sha256), draws G's inputs the way the zoo draws them
(`AdversarialModel.sample_inputs`: z ~ N(0, 1) from `numpy.random.default_rng(seed)`,
labels and categorical codes cycling through their values, continuous codes uniform), runs
the second, and writes a PNG grid or a .npy array atomically.

    ganzoo-onnx-sample RUN/export --n 64 --out grid.png [--seed 0] [--label K]
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from export import manifest as manifest_lib
from zoo import images
from zoo.errors import ZooError, first_line, is_integer
from zoo.files import save_npy

PROG = "ganzoo-onnx-sample"
BATCH = 256  # examples per onnxruntime call
SUFFIXES = (".png", ".npy")


def _classes(manifest: dict) -> tuple[str, int] | None:
    """(input name, number of values) of the discrete input `--label` fixes, if any."""
    if manifest.get("num_classes"):
        return "label", int(manifest["num_classes"])
    for name, code in (manifest.get("codes") or {}).items():
        if code["kind"] == "categorical":
            return name, int(code["size"])
    return None


def sample_inputs(manifest: dict, n: int, seed: int = 0, label: int | None = None) -> dict[str, np.ndarray]:
    """G's named inputs for `n` samples, drawn in the zoo's order: z, then continuous codes.

    Labels (and a categorical code) cycle through their values, so a grid with one column
    per value shows each in turn; `label` fixes that value for every sample instead.
    """
    if not is_integer(n) or n < 1:
        raise ZooError(f"the number of samples must be a positive integer, got {n!r}")
    if not is_integer(seed) or seed < 0:
        raise ZooError(f"the seed must be a non-negative integer, got {seed!r}")
    if label is not None and not is_integer(label):
        raise ZooError(f"--label must be an integer, got {label!r}")
    if manifest.get("latent_distribution") != "standard_normal":
        raise ZooError(f"latent distribution {manifest.get('latent_distribution')!r} is not supported")
    discrete = _classes(manifest)
    if label is not None:
        if discrete is None:
            raise ZooError(f"--label: this {manifest.get('variant')} export has no classes; drop --label")
        if not 0 <= label < discrete[1]:
            raise ZooError(f"--label must be in [0, {discrete[1]}), got {label}")
    rng = np.random.default_rng(seed)
    drawn = {"z": rng.standard_normal((n, int(manifest["latent_dim"]))).astype(np.float32)}
    codes = manifest.get("codes") or {}
    if manifest.get("num_classes"):
        drawn["label"] = np.arange(n) % int(manifest["num_classes"])
    for name, code in codes.items():
        if code["kind"] == "categorical":
            drawn[name] = np.arange(n) % int(code["size"])
        elif code["kind"] == "uniform":
            drawn[name] = rng.uniform(code["low"], code["high"], (n, int(code["size"])))
        else:
            raise ZooError(f"code {name!r} of kind {code['kind']!r} is not supported")
    if label is not None:
        drawn[discrete[0]] = np.full(n, label)
    inputs = {}
    for spec in _generator(manifest)["inputs"]:
        if spec["name"] not in drawn:
            raise ZooError(f"generator input {spec['name']!r} is not described by the manifest")
        inputs[spec["name"]] = np.asarray(drawn[spec["name"]], dtype=spec["dtype"])
    return inputs


def _generator(manifest: dict) -> dict:
    generator = manifest.get("generator")
    if not isinstance(generator, dict) or not {"onnx", "inputs", "outputs"} <= generator.keys():
        raise ZooError("the manifest describes no ONNX generator; export the run again")
    return generator


def _session(export_dir: Path, manifest: dict) -> ort.InferenceSession:
    path = export_dir / _generator(manifest)["onnx"]
    try:
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own types for unreadable or invalid models
        raise ZooError(f"onnxruntime cannot load {path}: {first_line(e)}") from e


def sample(export_dir: str | os.PathLike, n: int, seed: int = 0, label: int | None = None) -> np.ndarray:
    """n images from an export folder: (n, H, W, C) float32 in [-1, 1]."""
    export_dir = Path(export_dir)
    manifest = manifest_lib.read(export_dir)  # verifies every sha256
    return _run(export_dir, manifest, sample_inputs(manifest, n, seed, label))


def _run(export_dir: Path, manifest: dict, inputs: dict[str, np.ndarray]) -> np.ndarray:
    if manifest.get("image_layout") != "NHWC":
        raise ZooError(f"image layout {manifest.get('image_layout')!r} is not supported")
    session = _session(export_dir, manifest)
    output = _generator(manifest)["outputs"][0]["name"]
    n = len(inputs["z"])
    batches = [
        session.run([output], {k: v[i : i + BATCH] for k, v in inputs.items()})[0] for i in range(0, n, BATCH)
    ]
    return np.concatenate(batches).astype(np.float32)


class _Parser(argparse.ArgumentParser):
    """A usage error is a ZooError, printed as one line like every other error."""

    def error(self, message):
        raise ZooError(message)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="an export folder (holds manifest.json)")
    parser.add_argument("--n", type=_positive_int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", type=int, help="the class (or categorical code) of every sample")
    parser.add_argument("--out", type=Path, required=True, help="a .png grid or a .npy array")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.out.suffix not in SUFFIXES:
            raise ZooError(f"--out must end in .png or .npy, got {args.out}")
        manifest = manifest_lib.read(args.export)
        inputs = sample_inputs(manifest, args.n, args.seed, args.label)
        samples = _run(args.export, manifest, inputs)
        if args.out.suffix == ".npy":
            save_npy(args.out, samples)
        else:
            discrete = _classes(manifest)
            cols = discrete[1] if discrete and args.label is None else None
            images.save_png(args.out, images.grid(samples, cols=cols), scale=2)
    except ZooError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.n} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
