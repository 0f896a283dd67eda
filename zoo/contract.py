"""The deployment contract: what a trained generator takes and what its export folder says.

The project's lowest layer. It imports nothing from gan-zoo (the standard library and
numpy; Pillow only to write a PNG), because every export folder carries a copy of this
file beside `sample.py`, to be used where no TensorFlow or gan-zoo is installed. Defined
once, here:

- **G's inputs**, from the manifest's fields (`latent_dim`, `latent_distribution`,
  `num_classes`, `codes`): their names and order, and how they are drawn. `draw` takes a
  source of random numbers, so the same description makes the numpy inputs a user samples
  with (`numpy_random`) and, inside `model.fit`, the tensors a variant trains on.
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


def input_fields(latent_dim: int, num_classes: int | None = None, codes: dict | None = None) -> dict:
    """The manifest fields that define G's inputs: z ~ N(0, I) of `latent_dim`, an int
    `label` of `num_classes` values, and `codes` by name: `{"kind": "categorical", "size": k}`
    (an int in [0, k)) or `{"kind": "uniform", "size": c, "low": a, "high": b}` (c floats)."""
    return {
        "latent_dim": int(latent_dim),
        "latent_distribution": "standard_normal",
        "num_classes": int(num_classes) if num_classes else None,
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


def numpy_random(seed: int):
    """`draw`'s source of numbers from `numpy.random.default_rng(seed)`: what users sample with."""
    rng = np.random.default_rng(seed)
    return {
        "normal": lambda shape: rng.standard_normal(shape).astype(np.float32),
        "uniform": lambda shape, low, high: rng.uniform(low, high, shape).astype(np.float32),
        "integers": lambda shape, high: rng.integers(0, high, shape).astype(np.int32),
    }


def draw(fields: dict, n, random: dict, labels=None, cycle: bool = True) -> dict:
    """G's named inputs for `n` examples, drawn in one fixed order: z, then each code.

    `random` holds `normal(shape)`, `uniform(shape, low, high)` and `integers(shape, high)`
    (numpy's in `numpy_random`, keras.random's in training). `labels` are the class labels
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


def sample_inputs(fields: dict, n: int, seed: int = 0, label: int | None = None) -> dict[str, np.ndarray]:
    """G's inputs as numpy for `n` samples from `seed`: z ~ N(0, I), continuous codes uniform,
    labels and categorical codes cycling, or all equal to `label`. Checked like user input."""
    if not is_integer(n) or n < 0:
        raise ContractError(f"the number of samples must be a non-negative integer, got {n!r}")
    if not is_integer(seed) or seed < 0:
        raise ContractError(f"the seed must be a non-negative integer, got {seed!r}")
    if label is not None and not is_integer(label):
        raise ContractError(f"--label must be an integer, got {label!r}")
    discrete = classes_of(fields)
    if label is not None:
        if discrete is None:
            what = fields.get("variant", "generator")
            raise ContractError(f"--label: this {what} has no classes; drop --label")
        if not 0 <= label < discrete[1]:
            raise ContractError(f"--label must be in [0, {discrete[1]}), got {label}")
    inputs = draw(fields, n, numpy_random(seed))
    if label is not None:
        inputs[discrete[0]] = np.full(n, label, np.int32)
    return inputs


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
        **input_fields(fields["latent_dim"], fields.get("num_classes"), fields.get("codes")),
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


def chain_inputs(fields: dict, n: int, chain_length: int, seed: int = 0, label: int | None = None) -> dict:
    """G's inputs for `n` chains of `chain_length` proposals, chain after chain: chain i keeps
    the class or categorical code plain sampling would give sample i (or `label`); every
    other input is drawn afresh for each proposal."""
    inputs = sample_inputs(fields, n * chain_length, seed, label)  # checks `label`
    discrete = classes_of(fields)
    if discrete is not None and label is None:
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


def drs_rng(seed: int, round_: int) -> np.random.Generator:
    """The numbers DRS draws in round `round_` of filtering from `seed`, wherever it runs."""
    return np.random.default_rng([seed, round_, 0xD25])


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


def refine_rng(seed: int) -> np.random.Generator:
    """The noise refinement draws for samples drawn from `seed`, wherever it runs."""
    return np.random.default_rng([seed, 0x4EF])


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


def save_samples(path: str | os.PathLike, samples: np.ndarray, cols: int | None = None) -> Path:
    """Samples in [-1, 1] as a .npy array or, for any other suffix, a PNG grid at twice the size."""
    if Path(path).suffix == ".npy":
        return write_atomically(path, lambda tmp: np.save(tmp, samples))
    return save_png(path, grid(samples, cols=cols), 2)
