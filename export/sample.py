"""Samples a gan-zoo export folder with onnxruntime alone: no TensorFlow, no Keras, no gan-zoo.

Every export folder carries this file and a requirements.txt (numpy, onnxruntime, pillow),
and `ganzoo-onnx-sample` runs this same file. It reads manifest.json, verifying every
listed file's sha256; draws G's inputs the way the zoo draws them
(`AdversarialModel.sample_inputs`: z ~ N(0, 1) from `numpy.random.default_rng(seed)`,
labels and categorical codes cycling through their values, continuous codes uniform);
runs generator.onnx; with `--filter judge`, keeps the samples that judge.onnx accepts
under one of the judge's rules (the same arithmetic `zoo.judge` uses, written once, here);
and writes a PNG grid or a .npy array atomically.

    python sample.py [EXPORT] --n 64 --out grid.png [--seed 0] [--label K] [--filter judge [--rule R]]

EXPORT defaults to the folder this file is in. Only the standard library, numpy,
onnxruntime and PIL are imported (a test checks the source).
"""

import argparse
import hashlib
import json
import math
import numbers
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

PROG = "ganzoo-onnx-sample"
FORMAT = "gan-zoo-export/1"
MANIFEST = "manifest.json"
BATCH = 256  # examples per onnxruntime call, and the fewest drawn per round of filtering
SUFFIXES = (".png", ".npy")
# The judge's acceptance rules (their parameters are fitted by `zoo.judge.Judge.calibrate`):
#   precision            P(real) >= the lowest threshold at which held-out accepted images are
#                        at least the target share real
#   real-quantile        P(real) >= the q-th quantile of held-out real images' P(real)
#   class-real-quantile  the same, with the quantile taken over real images of the sample's class
#   class-share          P(real) >= the r-th quantile of held-out generated images of the
#                        sample's class: the lowest-scored share r of each class is rejected
#   drs                  discriminator rejection sampling (Azadi et al. 2019): accepted with
#                        probability sigmoid(F), F = l - l_max - log(1 - exp(l - l_max - eps)) - gamma
#                        for the calibrated logit l (random: it takes a generator of numbers)
RULES = ("precision", "real-quantile", "class-real-quantile", "class-share", "drs")
CLASS_RULES = ("class-real-quantile", "class-share")


class SampleError(Exception):
    """Bad input or a damaged export folder; printed as one line."""


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _first_line(error: BaseException) -> str:
    lines = str(error).splitlines()
    return lines[0] if lines else type(error).__name__


# === The manifest ===


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inside(name: str) -> bool:
    """A relative path that stays inside the export folder."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def read_manifest(export_dir: str | os.PathLike, verify: bool = True) -> dict:
    """Loads manifest.json; with `verify`, checks every listed file's sha256."""
    export_dir = Path(export_dir)
    path = export_dir / MANIFEST
    if not path.is_file():
        raise SampleError(f"{export_dir} has no {MANIFEST}; is it an export folder?")
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError as e:  # not JSON, or not text
        raise SampleError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SampleError(f"{path} is not a {FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and _inside(name) and isinstance(digest, str) for name, digest in files.items()
    ):
        raise SampleError(f"{path} has a damaged file list; export the run again")
    if verify:
        for name, expected in files.items():
            file = export_dir / name
            try:
                if not file.is_file():
                    raise SampleError(f"{file} is listed in the manifest but missing")
                if sha256(file) != expected:
                    raise SampleError(f"{file} does not match its sha256 in the manifest; it was modified")
            except OSError as e:  # unreadable, or a name the file system refuses
                raise SampleError(f"cannot read {file} listed in the manifest: {e.strerror or e}") from e
    return manifest


def _network(manifest: dict, name: str) -> dict:
    network = manifest.get(name)
    if not isinstance(network, dict) or not {"onnx", "inputs", "outputs"} <= network.keys():
        what = "no ONNX generator" if name == "generator" else f"no {name}"
        raise SampleError(f"the manifest describes {what}; export the run again")
    return network


# === G's inputs ===


def classes_of(manifest: dict) -> tuple[str, int] | None:
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
    if not _is_integer(n) or n < 1:
        raise SampleError(f"the number of samples must be a positive integer, got {n!r}")
    if not _is_integer(seed) or seed < 0:
        raise SampleError(f"the seed must be a non-negative integer, got {seed!r}")
    if label is not None and not _is_integer(label):
        raise SampleError(f"--label must be an integer, got {label!r}")
    if manifest.get("latent_distribution") != "standard_normal":
        raise SampleError(f"latent distribution {manifest.get('latent_distribution')!r} is not supported")
    discrete = classes_of(manifest)
    if label is not None:
        if discrete is None:
            raise SampleError(f"--label: this {manifest.get('variant')} export has no classes; drop --label")
        if not 0 <= label < discrete[1]:
            raise SampleError(f"--label must be in [0, {discrete[1]}), got {label}")
    rng = np.random.default_rng(seed)
    drawn = {"z": rng.standard_normal((n, int(manifest["latent_dim"]))).astype(np.float32)}
    if manifest.get("num_classes"):
        drawn["label"] = np.arange(n) % int(manifest["num_classes"])
    for name, code in (manifest.get("codes") or {}).items():
        if code["kind"] == "categorical":
            drawn[name] = np.arange(n) % int(code["size"])
        elif code["kind"] == "uniform":
            drawn[name] = rng.uniform(code["low"], code["high"], (n, int(code["size"])))
        else:
            raise SampleError(f"code {name!r} of kind {code['kind']!r} is not supported")
    if label is not None:
        drawn[discrete[0]] = np.full(n, label)
    inputs = {}
    for spec in _network(manifest, "generator")["inputs"]:
        if spec["name"] not in drawn:
            raise SampleError(f"generator input {spec['name']!r} is not described by the manifest")
        inputs[spec["name"]] = np.asarray(drawn[spec["name"]], dtype=spec["dtype"])
    return inputs


# === The judge's rules ===


def _sigmoid(x):
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
    if rule not in RULES:
        raise SampleError(f"unknown judge rule {rule!r}; choose one of {', '.join(RULES)}")
    params = (card.get("rules") or {}).get(rule)
    if params is None:
        raise SampleError(f"this judge has no {rule!r} rule; fit it again with `ganzoo judge RUN --fit`")
    x = np.asarray(logits, np.float64)
    if rule in CLASS_RULES:
        if classes is None:
            raise SampleError(f"the {rule!r} rule needs each image's class")
        thresholds = np.array([logit_of(t) for t in params["thresholds"]])
        classes = np.asarray(classes)
        if (
            classes.shape != x.shape
            or classes.min(initial=0) < 0
            or classes.max(initial=0) >= len(thresholds)
        ):
            raise SampleError(f"the {rule!r} rule takes one class in [0, {len(thresholds)}) per image")
        return x >= thresholds[classes]
    if rule == "drs":
        if rng is None:
            raise SampleError("the 'drs' rule is random: give it a numpy random Generator")
        keep = _sigmoid(drs_f(x, params["max_logit"], params["gamma"], params.get("epsilon", 1e-6)))
        return rng.uniform(size=x.shape) < keep
    return x >= logit_of(params["threshold"])


def drs_rng(seed: int, round_: int) -> np.random.Generator:
    """The numbers DRS draws in round `round_` of filtering from `seed`: the same in Python and here."""
    return np.random.default_rng([seed, round_, 0xD25])


# === Running the networks ===


class Exported:
    """An export folder's networks in onnxruntime sessions: G, and the judge (and the
    classifier the class rules need) when the folder has them."""

    def __init__(self, export_dir: str | os.PathLike, manifest: dict | None = None):
        self.dir = Path(export_dir)
        self.manifest = read_manifest(self.dir) if manifest is None else manifest
        if self.manifest.get("image_layout") != "NHWC":
            raise SampleError(f"image layout {self.manifest.get('image_layout')!r} is not supported")
        self._sessions = {}

    def _run(self, name: str, inputs: dict[str, np.ndarray], output: str | None = None) -> np.ndarray:
        network = _network(self.manifest, name)
        if name not in self._sessions:
            import onnxruntime as ort

            path = self.dir / network["onnx"]
            try:
                self._sessions[name] = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            except Exception as e:  # onnxruntime raises its own types for unreadable or invalid models
                raise SampleError(f"onnxruntime cannot load {path}: {_first_line(e)}") from e
        session, output = self._sessions[name], output or network["outputs"][0]["name"]
        n = len(next(iter(inputs.values())))
        return np.concatenate(
            [
                session.run([output], {k: v[i : i + BATCH] for k, v in inputs.items()})[0]
                for i in range(0, n, BATCH)
            ]
        )

    def generate(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self._run("generator", inputs).astype(np.float32)

    @property
    def judge_card(self) -> dict:
        card = self.manifest.get("judge_calibration")
        if not card or "judge" not in self.manifest:
            raise SampleError(f"{self.dir} was exported without a judge; drop --filter")
        return card

    def judge_logits(self, images: np.ndarray) -> np.ndarray:
        """The calibrated logit of P(real) per image (judge.onnx's `logit` output)."""
        return self._run("judge", {"image": images.astype(np.float32)}, "logit").reshape(-1)

    def p_real(self, images: np.ndarray) -> np.ndarray:
        return self._run("judge", {"image": images.astype(np.float32)}, "p_real").reshape(-1)

    def classes(self, images: np.ndarray, inputs: dict[str, np.ndarray]) -> np.ndarray | None:
        """Each image's class for the class rules: its label, or the classifier's prediction."""
        source = self.judge_card.get("classes_from")
        if source == "label":
            return np.asarray(inputs["label"])
        if source == "classifier":
            return np.argmax(self._run("classifier", {"image": images.astype(np.float32)}), axis=-1)
        return None

    def filtered(self, n: int, seed: int = 0, label: int | None = None, rule: str | None = None,
                 max_draws: int = 50) -> tuple[np.ndarray, float]:  # fmt: skip
        """n samples the judge accepts, drawn in rounds of max(n, 256) (round r from seed
        seed + 1000 r, as `zoo.judge.Judge.filter` draws them); returns (images, acceptance rate)."""
        card = self.judge_card

        def draw(round_: int) -> tuple[np.ndarray, np.ndarray]:
            inputs = sample_inputs(self.manifest, max(n, BATCH), seed + 1000 * round_, label)
            images = self.generate(inputs)
            logits, classes = self.judge_logits(images), self.classes(images, inputs)
            return images, accepted(logits, classes, card, rule, drs_rng(seed, round_))

        return rejection_sample(n, draw, max_draws)


def rejection_sample(n: int, draw, max_draws: int = 50) -> tuple[np.ndarray, float]:
    """Calls `draw(round)` -> (images, accepted) for rounds 0, 1, ... and keeps the accepted
    images until n are kept: the loop the exported sampler and `zoo.judge.Judge.filter` share.
    Returns (n images, acceptance rate); gives up after max_draws x n images drawn."""
    kept, drawn, round_ = [], 0, 0
    while sum(map(len, kept)) < n:
        if drawn >= max_draws * n:
            raise SampleError(
                f"the judge accepted {sum(map(len, kept))} of {drawn} samples; choose another rule"
            )
        images, keep = draw(round_)
        kept.append(images[keep])
        drawn, round_ = drawn + len(images), round_ + 1
    return np.concatenate(kept)[:n], sum(map(len, kept)) / drawn


def sample(export_dir: str | os.PathLike, n: int, seed: int = 0, label: int | None = None) -> np.ndarray:
    """n images from an export folder: (n, H, W, C) float32 in [-1, 1]."""
    exported = Exported(export_dir)
    return exported.generate(sample_inputs(exported.manifest, n, seed, label))


# === Writing ===


def grid(images: np.ndarray, cols: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, H, W, C) in [-1, 1] -> one uint8 picture with padding; every grid of the zoo
    (`zoo.images.grid`) is drawn by this function."""
    images = np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
    for i, image in enumerate(images):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[y : y + h, x : x + w] = image
    return out


def _write_atomically(path: Path, write) -> None:
    """`write(tmp)` then rename onto `path`, with the permissions a plain file would get."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(path: Path, samples: np.ndarray, cols: int | None = None) -> None:
    if path.suffix == ".npy":
        _write_atomically(path, lambda tmp: np.save(tmp, samples))
        return
    from PIL import Image

    picture = grid(samples, cols=cols)
    image = Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
    image = image.resize((image.width * 2, image.height * 2), Image.NEAREST)
    _write_atomically(path, lambda tmp: image.save(tmp, format="PNG"))


# === The command ===


class _Parser(argparse.ArgumentParser):
    """A usage error is a SampleError, printed as one line like every other error."""

    def error(self, message):
        raise SampleError(message)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent
    where = "an export folder (holds manifest.json); default: this file's folder"
    parser.add_argument("export", type=Path, nargs="?", default=here, help=where)
    parser.add_argument("--n", type=_positive_int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", type=int, help="the class (or categorical code) of every sample")
    parser.add_argument("--filter", choices=["judge"], help="keep only samples the judge accepts")
    parser.add_argument(
        "--rule", choices=RULES, help="the judge's rule (default: the one it was fitted with)"
    )
    parser.add_argument("--out", type=Path, required=True, help="a .png grid or a .npy array")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.out.suffix not in SUFFIXES:
            raise SampleError(f"--out must end in .png or .npy, got {args.out}")
        if args.rule and not args.filter:
            raise SampleError("--rule chooses the judge's rule; it needs --filter judge")
        exported = Exported(args.export)
        if args.filter:
            samples, rate = exported.filtered(args.n, args.seed, args.label, args.rule)
            rule = args.rule or exported.judge_card.get("rule", "precision")
            print(f"the judge ({rule}) accepted {rate:.1%} of the samples drawn")
        else:
            samples = exported.generate(sample_inputs(exported.manifest, args.n, args.seed, args.label))
        discrete = classes_of(exported.manifest)
        cols = discrete[1] if discrete and args.label is None and not args.filter else None
        save(args.out, samples, cols)
    except SampleError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.n} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
