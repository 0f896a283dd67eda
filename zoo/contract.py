"""The deployment contract: what a trained generator takes and what its export folder says.

The project's lowest layer. It imports nothing from gan-zoo (the standard library and
numpy; Pillow only to write a PNG), because every export folder carries a copy of this
file beside `sample.py`, to be used where no TensorFlow or gan-zoo is installed. Defined
once, here:

- **G's inputs**, from the manifest's fields (`latent_dim`, `latent_distribution`,
  `num_classes`, `class_names`, `codes`): their names and order, and how they are drawn.
  `draw` takes a source of random numbers, so the same description makes the numpy inputs a
  user samples with (`seeded_random`: `Stream`, which the web page computes alike) and,
  inside `model.fit`, the tensors a variant trains on.
- **Steering**: a class by index or name, codes by name, truncation, interpolation.
- **The manifest's layout** (`manifest`, `read_manifest`, `check_manifest`).
- **The judge's acceptance rules** (`RULES`, `accepted`, DRS, `rejection_sample`), and
  Metropolis-Hastings over G's proposals (`mh_sample`).
- **Refinement's steps** (`langevin`): how z moves given the gradient of its energy.
- **Pictures**: `to_uint8`, `grid`, and atomic writes (`write_atomically`, `save_samples`).
"""

import hashlib
import json
import math
import numbers
import os
import tempfile
from pathlib import Path

import numpy as np

FORMAT = "gan-zoo-export/1"
MANIFEST = "manifest.json"
LATENT_DISTRIBUTIONS = ("standard_normal",)
CODE_KINDS = ("categorical", "uniform")


class ContractError(Exception):
    """Bad input or a damaged export folder; printed as one line."""


def is_integer(value) -> bool:
    """True for Python and NumPy integers, False for bools: what a count, seed, epoch or
    label must be."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# === G's inputs ===


def input_fields(latent_dim: int, num_classes: int | None = None, codes: dict | None = None,
                 class_names=None) -> dict:  # fmt: skip
    """The manifest fields that define G's inputs: z ~ N(0, I) of `latent_dim`, an int
    `label` of `num_classes` values (named `class_names`, from the dataset, where known), and
    `codes` by name: `{"kind": "categorical", "size": k}` (an int in [0, k)) or
    `{"kind": "uniform", "size": c, "low": a, "high": b}` (c floats)."""
    return {
        "latent_dim": int(latent_dim),
        "latent_distribution": "standard_normal",
        "num_classes": int(num_classes) if num_classes else None,
        "class_names": [str(name) for name in class_names] if class_names else None,
        "codes": codes or None,
    }


def classes_of(fields: dict) -> tuple[str, int] | None:
    """(input name, number of values) of the discrete input a user steers (`--label`), if any."""
    if fields.get("num_classes"):
        return "label", int(fields["num_classes"])
    for name, code in (fields.get("codes") or {}).items():
        if code["kind"] == "categorical":
            return name, int(code["size"])
    return None


# === Random numbers, the same in every runtime ===
# G's inputs, DRS's chances and refinement's noise come from one counter-based generator that
# numpy (here) and JavaScript (the web page) compute alike: word i of the stream keyed by
# integers k is lowbias32(lowbias32(i ^ a) + b), with (a, b) hashed from k, in 32-bit integer
# arithmetic. Uniforms are (word + 1/2) / 2^32; normals are Box-Muller's cosine branch on two
# words, in float64, rounded to float32. Integer arithmetic and the rounding are exact in both
# languages; log and cos can round the last float64 bit differently between math libraries,
# which moves at most one float32 value in millions by one unit in the last place.

_MASK = 0xFFFFFFFF
STREAM_WORDS = 1 << 32  # words a stream holds before it would repeat


def _lowbias32(x):
    """A bijection of 32-bit words with strong avalanche (C. Wellons' lowbias32), on uint32
    arrays or Python ints."""
    if isinstance(x, np.ndarray):
        x = x ^ (x >> np.uint32(16))
        x = x * np.uint32(0x7FEB352D)
        x = x ^ (x >> np.uint32(15))
        x = x * np.uint32(0x846CA68B)
        return x ^ (x >> np.uint32(16))
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & _MASK
    return x ^ (x >> 16)


class Stream:
    """The random numbers keyed by non-negative integers (`Stream(seed)`, `Stream(seed,
    round, 0xD25)`), in the same order wherever they are drawn. Offers what the contract takes
    from a numpy Generator: `standard_normal`, `uniform` and `integers`, as float64/int64."""

    def __init__(self, *key: int):
        if not key or not all(is_integer(k) and k >= 0 for k in key):
            raise ContractError(f"a random stream is keyed by non-negative integers, got {key!r}")
        a = 0x243F6A88
        for k in key:  # each key as 32-bit words, low first; a zero key still counts as one word
            k = int(k)
            while True:
                a = _lowbias32(a ^ (k & _MASK))
                k >>= 32
                if not k:
                    break
            a = _lowbias32((a + 0x9E3779B9) & _MASK)
        self._a, self._b = np.uint32(a), np.uint32(_lowbias32(a ^ 0x85EBCA6B))
        self.position = 0  # words drawn so far

    def words(self, count: int) -> np.ndarray:
        """The next `count` 32-bit words."""
        if self.position + count > STREAM_WORDS:
            raise ContractError("a random stream ran out of numbers; draw fewer samples per seed")
        i = np.arange(self.position, self.position + count, dtype=np.uint64).astype(np.uint32)
        self.position += count
        with np.errstate(over="ignore"):
            return _lowbias32(_lowbias32(i ^ self._a) + self._b)

    def _unit(self, count: int) -> np.ndarray:
        """The next `count` words as uniforms in (0, 1), float64: (word + 1/2) / 2^32."""
        return (self.words(count).astype(np.float64) + 0.5) * 2.0**-32

    def uniform(self, low=0.0, high=1.0, size=None):
        """Uniform in (low, high): low + (high - low) x (word + 1/2) / 2^32."""
        shape = _shape(size)
        value = low + (high - low) * self._unit(math.prod(shape))
        return value.reshape(shape) if size is not None else float(value[0])

    def standard_normal(self, shape) -> np.ndarray:
        """Box-Muller's cosine branch, two words a number: sqrt(-2 log u1) cos(2 pi u2)."""
        shape = _shape(shape)
        u = self._unit(2 * math.prod(shape))
        return (np.sqrt(-2.0 * np.log(u[0::2])) * np.cos(2.0 * math.pi * u[1::2])).reshape(shape)

    def integers(self, low, high=None, size=None) -> np.ndarray:
        """Integers in [low, high) (or [0, low)): floor(word x span / 2^32) + low, exact in float64."""
        low, high = (0, low) if high is None else (low, high)
        shape = _shape(size)
        span = int(high) - int(low)
        if not 0 < span <= 1 << 20:
            raise ContractError(f"integers are drawn from at most 2^20 values, got [{low}, {high})")
        words = self.words(math.prod(shape)).astype(np.float64)
        value = (np.floor(words * span * 2.0**-32) + low).astype(np.int64)
        return value.reshape(shape) if size is not None else int(value[0])


def _shape(shape) -> tuple:
    """A numpy-style size as a tuple; None is one number."""
    if shape is None:
        return (1,)
    return (int(shape),) if is_integer(shape) else tuple(int(d) for d in shape)


def seeded_random(seed: int, *stream: int) -> dict:
    """`draw`'s source of numbers from `Stream(seed, *stream)`: what users sample with, in
    Python, in sample.py and in the web page alike."""
    rng = Stream(seed, *stream)
    return {
        "normal": lambda shape: rng.standard_normal(shape).astype(np.float32),
        "uniform": lambda shape, low, high: rng.uniform(low, high, shape).astype(np.float32),
        "integers": lambda shape, high: rng.integers(0, high, shape).astype(np.int32),
    }


def draw(fields: dict, n, random: dict, labels=None, cycle: bool = True) -> dict:
    """G's named inputs for `n` examples, drawn in one fixed order: z, then each code.

    `random` holds `normal(shape)`, `uniform(shape, low, high)` and `integers(shape, high)`
    (`seeded_random`'s in sampling, keras.random's in training). `labels` are the class labels
    (training uses the data's). With `cycle`, labels and categorical codes run through their
    values (0, 1, ..., k-1, 0, ...), so a grid with one column per value shows each in turn,
    and take no random numbers; without it they are drawn uniformly.
    """
    distribution = fields.get("latent_distribution")
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ContractError(f"latent distribution {distribution!r} is not supported")
    inputs = {"z": random["normal"]((n, int(fields["latent_dim"])))}
    if fields.get("num_classes"):
        k = int(fields["num_classes"])
        inputs["label"] = labels if labels is not None else _discrete(n, k, random, cycle)
    for name, code in (fields.get("codes") or {}).items():
        if code["kind"] == "categorical":
            inputs[name] = _discrete(n, int(code["size"]), random, cycle)
        elif code["kind"] == "uniform":
            inputs[name] = random["uniform"]((n, int(code["size"])), code["low"], code["high"])
        else:
            raise ContractError(f"code {name!r} of kind {code['kind']!r} is not supported")
    return inputs


def _discrete(n, k: int, random: dict, cycle: bool):
    return (np.arange(n) % k).astype(np.int32) if cycle else random["integers"]((n,), k)


# === Steering: what a user chooses of G's inputs ===
# One vocabulary for generate(), `ganzoo sample`, sample.py and the web page: a seed; a class
# (`label`, by index or by the dataset's name for it); codes by name (`code_cat=3`,
# `code_cont=0.5,-1`); truncation; an interpolation between two endpoints.

TRUNCATION_STREAM = 0x7C  # Stream(seed, TRUNCATION_STREAM): the redraws truncation takes
TRUNCATION_MIN = 0.01  # below it, redrawing a normal until it lands within takes too long


def class_index(fields: dict, label) -> int:
    """The index of a class given by index (an int, or digits) or by name (any case)."""
    discrete = classes_of(fields)
    if discrete is None:
        what = fields.get("variant", "generator")
        raise ContractError(f"--label: this {what} has no classes; drop --label")
    name, size = discrete
    names = list(fields.get("class_names") or []) if name == "label" else []
    if isinstance(label, str) and not label.strip().lstrip("-").isdigit():
        wanted = [i for i, known in enumerate(names) if known.lower() == label.strip().lower()]
        if not wanted:
            choices = ", ".join(names) if names else f"an index in [0, {size})"
            raise ContractError(f"--label {label!r} is not a class; choose {choices}")
        return wanted[0]
    if isinstance(label, str):
        label = int(label)
    if not is_integer(label):
        raise ContractError(f"--label must be a class index or name, got {label!r}")
    if not 0 <= label < size:
        raise ContractError(f"--label must be in [0, {size}), got {label}")
    return int(label)


def parse_codes(fields: dict, assignments) -> dict:
    """`["code_cat=3", "code_cont=0.5,-1"]` (or a dict of name -> value) as the code values
    every sample takes: an int in [0, k) for a categorical code, `size` floats (or one for all)
    within [low, high] for a uniform one."""
    codes = fields.get("codes") or {}
    if not isinstance(assignments, dict):
        pairs = {}
        for text in assignments:
            name, sep, value = str(text).partition("=")
            if not sep or not value:
                raise ContractError(f"--code takes NAME=VALUE, got {text!r}")
            pairs[name.strip()] = value
        assignments = pairs
    chosen = {}
    for name, value in assignments.items():
        if name not in codes:
            known = ", ".join(codes) or "none"
            raise ContractError(f"--code {name}: this generator has no such code (its codes: {known})")
        code = codes[name]
        try:
            values = value.split(",") if isinstance(value, str) else np.ravel(value).tolist()
            values = [float(v) for v in values]
        except ValueError:
            raise ContractError(f"--code {name}: {value!r} is not a number or a list of numbers") from None
        if code["kind"] == "categorical":
            if len(values) != 1 or values[0] != int(values[0]) or not 0 <= values[0] < code["size"]:
                raise ContractError(f"--code {name} takes one integer in [0, {code['size']}), got {value!r}")
            chosen[name] = int(values[0])
        else:
            size, low, high = int(code["size"]), float(code["low"]), float(code["high"])
            values = values * size if len(values) == 1 else values
            if len(values) != size or not all(math.isfinite(v) and low <= v <= high for v in values):
                within = f"1 or {size} numbers in [{low}, {high}]"
                raise ContractError(f"--code {name} takes {within}, got {value!r}")
            chosen[name] = np.asarray(values, np.float32)
    return chosen


def check_truncation(truncation) -> float | None:
    if truncation is None:
        return None
    if isinstance(truncation, bool) or not isinstance(truncation, numbers.Real) or not truncation > 0:
        raise ContractError(f"--truncation must be a bound > 0, got {truncation!r}")
    if not truncation >= TRUNCATION_MIN:
        raise ContractError(f"--truncation must be at least {TRUNCATION_MIN}, got {truncation!r}")
    return float(truncation)


def truncate(fields: dict, inputs: dict, bound: float, seed: int) -> dict:
    """`inputs` with every continuous component beyond +-`bound` drawn again until within it:
    z, standard normal, becomes a normal truncated to [-bound, bound]; a uniform code on
    [low, high] becomes uniform on [max(low, -bound), min(high, bound)]; labels and
    categorical codes are unchanged. The redraws come from `Stream(seed, TRUNCATION_STREAM)`,
    pass after pass over the components still outside, in row-major order, so plain sampling's
    numbers stay where they were."""
    bound = check_truncation(bound)
    rng, out = Stream(seed, TRUNCATION_STREAM), dict(inputs)
    draws = {"z": lambda k: rng.standard_normal(k)}
    for name, code in (fields.get("codes") or {}).items():
        if code["kind"] == "uniform":
            if max(code["low"], -bound) > min(code["high"], bound):
                span = f"[{code['low']}, {code['high']}]"
                raise ContractError(f"--truncation {bound} leaves code {name} no values in {span}")
            draws[name] = lambda k, c=code: rng.uniform(c["low"], c["high"], k)
    for name, redraw in draws.items():  # z first, then the codes in the manifest's order
        values = np.array(inputs[name], np.float32)
        flat = values.reshape(-1)
        outside = np.flatnonzero(np.abs(flat) > bound)
        while outside.size:
            flat[outside] = redraw(outside.size).astype(np.float32)
            outside = outside[np.abs(flat[outside]) > bound]
        out[name] = values
    return out


def sample_inputs(fields: dict, n: int, seed: int = 0, label=None, codes=None,
                  truncation: float | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """G's inputs as numpy for `n` samples from `seed`: z ~ N(0, I), continuous codes uniform,
    labels and categorical codes cycling (or all equal to `label`, an index or a class name,
    and to `codes`, see `parse_codes`), continuous components truncated to +-`truncation`
    (`truncate`). Checked like user input."""
    if not is_integer(n) or n < 0:
        raise ContractError(f"the number of samples must be a non-negative integer, got {n!r}")
    if not is_integer(seed) or seed < 0:
        raise ContractError(f"the seed must be a non-negative integer, got {seed!r}")
    chosen = parse_codes(fields, codes or {})
    index = None if label is None else class_index(fields, label)
    bound = check_truncation(truncation)
    inputs = draw(fields, n, seeded_random(seed))
    if bound is not None:
        inputs = truncate(fields, inputs, bound, seed)
    if index is not None:
        inputs[classes_of(fields)[0]] = np.full(n, index, np.int32)
    for name, value in chosen.items():
        inputs[name] = np.broadcast_to(value, inputs[name].shape).astype(inputs[name].dtype)
    return inputs


def slerp(t: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The great-circle path from `a` (t = 0) to `b` (t = 1), rows at a time; a straight line
    where the two are (nearly) parallel. Where a normal prior puts its mass, unlike a line."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norms = np.linalg.norm(a64, axis=-1) * np.linalg.norm(b64, axis=-1)
    cos = np.clip(np.sum(a64 * b64, axis=-1) / np.maximum(norms, 1e-300), -1.0, 1.0)
    omega = np.arccos(cos)[..., None]
    sin = np.sin(omega)
    safe = np.where(sin > 1e-6, sin, 1.0)
    curved = (np.sin((1.0 - t) * omega) * a64 + np.sin(t * omega) * b64) / safe
    return np.where(sin > 1e-6, curved, (1.0 - t) * a64 + t * b64)


def interpolate(fields: dict, start: dict, end: dict, frames: int) -> dict[str, np.ndarray]:
    """G's inputs for `frames` steps from one sample's inputs (`start`, each input one row)
    to another's: z by `slerp` (normal prior), uniform codes by straight lines (uniform prior),
    labels and categorical codes `start`'s for the first half and `end`'s after, so that the
    first and last frames are exactly the two endpoints' samples."""
    if not is_integer(frames) or frames < 2:
        raise ContractError(f"an interpolation needs at least 2 frames, got {frames!r}")
    t = np.arange(frames) / (frames - 1)  # as the web page computes it
    uniform = {name for name, code in (fields.get("codes") or {}).items() if code["kind"] == "uniform"}
    out = {}
    for name in start:
        a, b = np.asarray(start[name]), np.asarray(end[name])
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        if a.shape[:1] != (1,) or b.shape != a.shape:
            shapes = f"{a.shape}, {b.shape}"
            raise ContractError(f"interpolation endpoints hold one sample each; {name} has shapes {shapes}")
        if name == "z":
            out[name] = np.concatenate([slerp(float(s), a64, b64) for s in t]).astype(np.float32)
        elif name in uniform:
            out[name] = np.concatenate([(1.0 - s) * a64 + s * b64 for s in t]).astype(np.float32)
        else:
            out[name] = np.where(t < 0.5, a[0], b[0]).astype(a.dtype)
    return out


def save_latents(path: str | os.PathLike, inputs: dict) -> Path:
    """G's inputs as an .npz (one array per input), atomically: what `--interpolate` reads back."""
    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **{name: np.asarray(value) for name, value in inputs.items()})

    return write_atomically(path, write)


def load_latents(path: str | os.PathLike, fields: dict, index: int = 0) -> dict[str, np.ndarray]:
    """Sample `index` of an .npz of G's inputs (`save_latents`), as a one-sample input dict."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as e:
        raise ContractError(f"cannot read latents from {path}: {e}") from e
    wanted = ["z", *(["label"] if fields.get("num_classes") else []), *(fields.get("codes") or {})]
    missing = [name for name in wanted if name not in arrays]
    if missing or arrays["z"].shape[1:] != (int(fields["latent_dim"]),):
        raise ContractError(f"{path} does not hold this generator's inputs ({', '.join(wanted)})")
    if not 0 <= index < len(arrays["z"]):
        raise ContractError(f"{path} holds {len(arrays['z'])} samples; there is no sample {index}")
    return {name: arrays[name][index : index + 1] for name in wanted}


def endpoint(fields: dict, given, **steering) -> dict[str, np.ndarray]:
    """One end of an interpolation: a seed (an int, or digits) gives the first sample
    `sample_inputs(fields, 1, seed, **steering)` draws; a path to an .npz gives its first sample
    (`load_latents`; `PATH:K` its sample K)."""
    text = str(given)
    if is_integer(given) or text.isdigit():
        return sample_inputs(fields, 1, int(text), **steering)
    head, colon, tail = text.rpartition(":")
    path, index = (head, int(tail)) if colon and tail.isdigit() else (text, 0)
    return load_latents(path, fields, index)


WALK_SUFFIXES = (".png", ".gif", ".webp", ".npy")


def check_walk_out(path: str | os.PathLike) -> None:
    """An interpolation's output path must name a format `save_walk` writes."""
    if Path(path).suffix not in WALK_SUFFIXES:
        raise ContractError(f"--out must end in {', '.join(WALK_SUFFIXES)}, got {path}")


def steering_arguments(parser) -> None:
    """The steering options, the same in `ganzoo sample` and sample.py."""
    parser.add_argument("--label", metavar="CLASS", help="every sample of this class: its index or name")
    parser.add_argument("--code", action="append", default=[], metavar="NAME=VALUE",
                        help="fix a latent code, e.g. code_cat=3 or code_cont=0.5,-1 (repeatable)")
    parser.add_argument("--truncation", type=float, metavar="BOUND",
                        help="draw continuous latents again until within +-BOUND (z: a truncated normal)")
    parser.add_argument("--interpolate", nargs=2, metavar=("START", "END"),
                        help="walk from one sample to another: seeds, or .npz files of saved latents")
    parser.add_argument("--frames", type=int, default=16, help="with --interpolate: the number of frames")
    parser.add_argument("--save-latents", metavar="NPZ", help="also write G's inputs to this .npz")


def steering_of(args) -> dict:
    """`sample_inputs`' steering keywords from parsed `steering_arguments`."""
    return {"label": args.label, "codes": args.code, "truncation": args.truncation}


# === The manifest ===


def manifest(fields: dict, *, variant: str, image_shape, networks: dict, judge_calibration: dict | None,
             parity: dict, versions: dict, opset: int, files: dict) -> dict:  # fmt: skip
    """An export folder's manifest.json, in its one layout.

    `networks` maps "generator", "discriminator", "judge", ... to `{"saved_model", "signature",
    "onnx", "inputs": [{"name", "dtype", "shape"}], "outputs": [...], ...}`; `files` maps every
    other file's relative path to its sha256.
    """
    return {
        "format": FORMAT,
        "variant": variant,
        **input_fields(fields["latent_dim"], fields.get("num_classes"), fields.get("codes"),
                       fields.get("class_names")),
        "image_shape": [int(d) for d in image_shape],
        "image_layout": "NHWC",
        "value_range": [-1.0, 1.0],
        "opset": opset,
        **networks,
        "judge_calibration": judge_calibration,
        "sampler": {"program": "sample.py", "contract": "contract.py", "requirements": "requirements.txt"},
        "parity": parity,
        "versions": versions,
        "files": files,
    }


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(root: str | os.PathLike, skip: str | None = MANIFEST) -> dict[str, str]:
    """sha256 of every file under `root` (but those named `skip`), by relative POSIX path."""
    root = Path(root)
    return {p.relative_to(root).as_posix(): sha256(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != skip}  # fmt: skip


def _inside(name: str) -> bool:
    """A relative path that stays inside the export folder."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def check_manifest(manifest: dict, where: str = MANIFEST) -> dict:
    """`manifest` if it has this contract's layout, else a ContractError naming `where`."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ContractError(f"{where} is not a {FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and _inside(name) and isinstance(digest, str) for name, digest in files.items()
    ):
        raise ContractError(f"{where} has a damaged file list; export the run again")
    return manifest


def read_manifest(export_dir: str | os.PathLike, verify: bool = True) -> dict:
    """Loads an export folder's manifest.json; with `verify`, checks every listed file's sha256."""
    export_dir = Path(export_dir)
    path = export_dir / MANIFEST
    if not path.is_file():
        raise ContractError(f"{export_dir} has no {MANIFEST}; is it an export folder?")
    try:
        manifest = check_manifest(json.loads(path.read_bytes()), str(path))
    except ValueError as e:  # not JSON, or not text
        raise ContractError(f"{path} is not valid JSON: {e}") from e
    if verify:
        for name, expected in manifest["files"].items():
            file = export_dir / name
            try:
                if not file.is_file():
                    raise ContractError(f"{file} is listed in the manifest but missing")
                if sha256(file) != expected:
                    raise ContractError(f"{file} does not match its sha256 in the manifest; it was modified")
            except OSError as e:  # unreadable, or a name the file system refuses
                raise ContractError(f"cannot read {file} listed in the manifest: {e.strerror or e}") from e
    return manifest


def network(manifest: dict, name: str) -> dict:
    """The manifest's description of one exported network."""
    described = manifest.get(name)
    if not isinstance(described, dict) or not {"onnx", "inputs", "outputs"} <= described.keys():
        what = "no ONNX generator" if name == "generator" else f"no {name}"
        raise ContractError(f"the manifest describes {what}; export the run again")
    return described


# === The judge's rules ===
# Their parameters are fitted by `zoo.evaluation.judge.Judge.calibrate`:
#   precision            P(real) >= the lowest threshold at which held-out accepted images are
#                        at least the target share real
#   real-quantile        P(real) >= the q-th quantile of held-out real images' P(real)
#   class-real-quantile  the same, with the quantile taken over real images of the sample's class
#   class-share          P(real) >= the r-th quantile of held-out generated images of the
#                        sample's class: the lowest-scored share r of each class is rejected
#   drs                  discriminator rejection sampling (Azadi et al. 2019): accepted with
#                        probability sigmoid(F), F = l - l_max - log(1 - exp(l - l_max - eps)) - gamma
#                        for the calibrated logit l (random: it takes a generator of numbers)
#   mh                   Metropolis-Hastings GAN (Turner et al. 2019): no image is rejected
#                        outright; each sample is the state a chain of `chain_length` of G's
#                        proposals ends in, moving from x to x' with probability
#                        min(1, exp(l' - l)), the ratio of the calibrated D's odds
RULES = ("precision", "real-quantile", "class-real-quantile", "class-share", "drs", "mh")
CLASS_RULES = ("class-real-quantile", "class-share")
CHAIN_RULES = ("mh",)  # rules that choose among proposals instead of accepting each image


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def logit_of(p: float) -> float:
    """The logit of a probability threshold: -inf at 0 or below (accepts all), +inf at 1 or
    above (accepts none)."""
    p = float(p)
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p) - math.log1p(-p)


def drs_f(logits, max_logit: float, gamma: float, epsilon: float = 1e-6) -> np.ndarray:
    """Azadi et al. (2019), eq. 8: F(x), whose sigmoid is the probability of keeping x."""
    d = np.minimum(np.asarray(logits, np.float64) - max_logit, 0.0)  # l_max bounds the logits
    return d - np.log1p(-np.exp(d - epsilon)) - gamma


def accepted(logits, classes, card: dict, rule: str | None = None, rng=None) -> np.ndarray:
    """True for each image the judge accepts under `rule` (default: the card's own rule).

    `logits` are the calibrated logits of P(real) (judge.onnx's `logit` output): thresholds
    are P(real) values, compared on the logit scale, which keeps its precision where float32
    P(real) rounds to 0 or 1. `classes`, for the class rules, is each image's class (its
    label, or the classifier's prediction); `card`, the judge's calibration (the manifest's
    `judge_calibration`); `rng`, a numpy Generator, for DRS.
    """
    rule = rule or card.get("rule", "precision")
    params = rule_params(card, rule)
    if rule in CHAIN_RULES:
        raise ContractError(f"the {rule!r} rule chooses among proposals; it does not accept single images")
    x = np.asarray(logits, np.float64)
    if rule in CLASS_RULES:
        if classes is None:
            raise ContractError(f"the {rule!r} rule needs each image's class")
        thresholds = np.array([logit_of(t) for t in params["thresholds"]])
        classes = np.asarray(classes)
        low, high = classes.min(initial=0), classes.max(initial=0)
        if classes.shape != x.shape or low < 0 or high >= len(thresholds):
            raise ContractError(f"the {rule!r} rule takes one class in [0, {len(thresholds)}) per image")
        return x >= thresholds[classes]
    if rule == "drs":
        if rng is None:
            raise ContractError("the 'drs' rule is random: give it a numpy random Generator")
        keep = sigmoid(drs_f(x, params["max_logit"], params["gamma"], params.get("epsilon", 1e-6)))
        return rng.uniform(size=x.shape) < keep
    return x >= logit_of(params["threshold"])


def rule_params(card: dict, rule: str) -> dict:
    """A rule's fitted parameters from the judge's card, or a ContractError saying what to do."""
    if rule not in RULES:
        raise ContractError(f"unknown judge rule {rule!r}; choose one of {', '.join(RULES)}")
    params = (card.get("rules") or {}).get(rule)
    if params is None:
        raise ContractError(f"this judge has no {rule!r} rule; fit it again with `ganzoo judge RUN --fit`")
    return params


def mh_chains(logits, rng) -> tuple[np.ndarray, float]:
    """Metropolis-Hastings over G's proposals (Turner et al. 2019, independence sampler).

    `logits` (chains, K): the calibrated logits of each chain's K proposals, in order. A
    chain starts at its first proposal (G's own sample; the paper may start at a real image)
    and moves to proposal k with probability min(1, exp(l_k - l_state)): with D calibrated,
    D/(1 - D) = exp(l) estimates p_data/p_G, so the chain's stationary law is p_data as far as
    D is right. Returns (each chain's final proposal index, the share of moves accepted).
    """
    x = np.asarray(logits, np.float64)
    chains, k = x.shape
    state = np.zeros(chains, np.int64)
    current = x[:, 0].copy()
    log_u = np.log(rng.uniform(size=(chains, k)))
    moves = 0
    for j in range(1, k):
        move = log_u[:, j] < x[:, j] - current
        state[move], current[move] = j, x[move, j]
        moves += int(move.sum())
    return state, moves / max(1, chains * (k - 1))


def chain_inputs(fields: dict, n: int, chain_length: int, seed: int = 0, label=None, **steering) -> dict:
    """G's inputs for `n` chains of `chain_length` proposals, chain after chain: chain i keeps
    the class or categorical code plain sampling would give sample i (or `label`); every
    other input is drawn afresh for each proposal (`steering`: `sample_inputs`' codes and
    truncation)."""
    inputs = sample_inputs(fields, n * chain_length, seed, label, **steering)  # checks them
    discrete = classes_of(fields)
    if discrete is not None and label is None and discrete[0] not in (steering.get("codes") or {}):
        name, k = discrete
        inputs[name] = np.repeat((np.arange(n) % k).astype(np.int32), chain_length)
    return inputs


def mh_sample(n: int, chain_length: int, draw) -> tuple[np.ndarray, float]:
    """n samples by Metropolis-Hastings: `draw()` returns (images, calibrated logits) of the
    n x chain_length proposals laid out chain after chain (`chain_inputs`) and `rng`.
    Returns (images, samples per proposal drawn, i.e. 1 / chain_length)."""
    images, logits, rng = draw()
    state, _ = mh_chains(np.asarray(logits).reshape(n, chain_length), rng)
    chosen = np.arange(n) * chain_length + state
    return images[chosen], 1.0 / chain_length


def drs_rng(seed: int, round_: int) -> Stream:
    """The numbers DRS (and MH) draws in round `round_` of filtering from `seed`, wherever it runs."""
    return Stream(seed, round_, 0xD25)


def rejection_sample(n: int, draw_round, max_draws: int = 50) -> tuple[np.ndarray, float]:
    """Calls `draw_round(round)` -> (images, accepted) for rounds 0, 1, ... and keeps the
    accepted images until n are kept; returns (n images, acceptance rate). Gives up after
    max_draws x n images drawn."""
    kept, drawn, round_ = [], 0, 0
    while sum(map(len, kept)) < n:
        if drawn >= max_draws * n:
            kept_so_far = sum(map(len, kept))
            raise ContractError(f"the judge accepted {kept_so_far} of {drawn} samples; choose another rule")
        images, keep = draw_round(round_)
        kept.append(images[keep])
        drawn, round_ = drawn + len(images), round_ + 1
    return np.concatenate(kept)[:n], sum(map(len, kept)) / drawn


# === Refinement ===

REFINE_BATCH = 256  # z moved this many at a time; the noise is drawn in the same blocks
REFINE_STEP_SIZE, REFINE_NOISE, REFINE_BOUND = 0.01, 1.0, 3.0  # the defaults everywhere


def refine_rng(seed: int) -> Stream:
    """The noise refinement draws for samples drawn from `seed`, wherever it runs."""
    return Stream(seed, 0x4EF)


def check_refinement(steps, step_size, noise, bound) -> None:
    if not (is_integer(steps) and steps >= 0 and step_size > 0 and noise >= 0 and bound > 0):
        raise ContractError(
            "refinement needs steps >= 0 (an integer), step size > 0, noise >= 0 and bound > 0; "
            f"got {steps}, {step_size}, {noise}, {bound}"
        )


def langevin(inputs: dict, gradient, steps: int, step_size: float, noise: float, bound: float,
             seed: int = 0) -> dict:  # fmt: skip
    """`inputs` with z moved by `steps` Langevin steps, every other input unchanged:
    z <- clip(z - step_size / 2 * dE/dz + noise * sqrt(step_size) * eta, -bound, bound),
    eta standard normal from `refine_rng(seed)`, REFINE_BATCH samples at a time.
    `gradient(inputs)` returns dE/dz for a block of inputs (the exported `refine` graph's
    `gradient`, or the same in TensorFlow)."""
    check_refinement(steps, step_size, noise, bound)
    if steps == 0:
        return dict(inputs)
    rng, scale = refine_rng(seed), noise * math.sqrt(step_size)
    z = np.array(inputs["z"], np.float32)
    for start in range(0, len(z), REFINE_BATCH):
        block = {k: np.asarray(v)[start : start + REFINE_BATCH] for k, v in inputs.items()}
        chunk = block["z"].astype(np.float32)
        for _ in range(steps):
            step = chunk - 0.5 * step_size * np.asarray(gradient({**block, "z": chunk}), np.float32)
            step = step + scale * rng.standard_normal(chunk.shape)
            chunk = np.clip(step, -bound, bound).astype(np.float32)
        z[start : start + REFINE_BATCH] = chunk
    return {**inputs, "z": z}


# === Pictures ===


def to_uint8(images) -> np.ndarray:
    """Images in [-1, 1] -> uint8 in [0, 255], clipping what lies outside."""
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, H, W, C) in [-1, 1] -> one uint8 picture, `cols` images a row, with padding."""
    images = to_uint8(images)
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
    for i, image in enumerate(images):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[y : y + h, x : x + w] = image
    return out


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Gives `tmp` (a file or folder) the permissions a plainly created one would have under
    the current umask, then renames it to `path` in one step."""
    umask = os.umask(0)
    os.umask(umask)
    tmp = Path(tmp)
    if tmp.is_dir():
        for root, _, names in os.walk(tmp):
            os.chmod(root, 0o777 & ~umask)
            for name in names:
                os.chmod(Path(root) / name, 0o666 & ~umask)
    else:
        os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
    return Path(path)


def write_atomically(path: str | os.PathLike, write) -> Path:
    """`write(tmp)` to a temporary file beside `path`, then renames it onto `path`: a reader
    sees the old file or the whole new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        return publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_png(path: str | os.PathLike, picture: np.ndarray, scale: int = 1) -> Path:
    """Writes a uint8 (H, W, C) picture as a PNG, atomically, `scale` times larger."""
    from PIL import Image

    image = Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return write_atomically(path, lambda tmp: image.save(tmp, format="PNG"))


def save_walk(path: str | os.PathLike, frames: np.ndarray, frame_ms: int = 100) -> Path:
    """An interpolation's frames in [-1, 1]: a one-row strip (.png), an animation that loops
    (.gif, .webp; each frame at four times the size), or the array (.npy)."""
    check_walk_out(path)
    suffix = Path(path).suffix
    if suffix in (".png", ".npy"):
        return save_samples(path, frames, cols=len(frames))
    from PIL import Image

    pictures = []
    for picture in to_uint8(frames):
        image = Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
        pictures.append(image.resize((image.width * 4, image.height * 4), Image.NEAREST))
    fmt = "GIF" if suffix == ".gif" else "WEBP"
    options = {"lossless": True} if fmt == "WEBP" else {}
    return write_atomically(path, lambda tmp: pictures[0].save(
        tmp, format=fmt, save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0, **options))


def save_samples(path: str | os.PathLike, samples: np.ndarray, cols: int | None = None) -> Path:
    """Samples in [-1, 1] as a .npy array or, for any other suffix, a PNG grid at twice the size."""
    if Path(path).suffix == ".npy":
        return write_atomically(path, lambda tmp: np.save(tmp, samples))
    return save_png(path, grid(samples, cols=cols), 2)
