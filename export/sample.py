"""Samples a gan-zoo export folder with onnxruntime alone: no TensorFlow, no Keras, no gan-zoo.

Every export folder carries this file, `contract.py` (the deployment contract,
`zoo/contract.py`: G's inputs, the manifest, the judge's rules, pictures) and a
requirements.txt (numpy, onnxruntime, pillow); `ganzoo-onnx-sample` runs this same file.
It reads manifest.json, verifying every listed file's sha256; draws G's inputs as the
contract defines them (the zoo draws its own the same way); runs generator.onnx; with
`--refine STEPS`, moves each z by Langevin steps on the judge's calibrated logit (refine.onnx
gives the gradient, `contract.langevin` takes the steps); with `--filter judge`, keeps the
samples that judge.onnx accepts under one of the judge's rules; and writes a PNG grid or a
.npy array atomically.

    python sample.py [EXPORT] --n 64 --out grid.png [--seed 0] [--label CLASS] [--code NAME=V]
                     [--truncation B] [--refine STEPS] [--filter judge [--rule R]]
    python sample.py [EXPORT] --interpolate START END --frames 16 --out walk.gif

EXPORT defaults to the folder this file is in. Only the standard library, numpy,
onnxruntime, PIL and the contract are imported (a test checks the source).
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

if __package__:  # export.sample, inside the project
    from zoo import contract
else:  # sample.py in an export folder, beside its copy of contract.py
    import contract

PROG = "ganzoo-onnx-sample"
BATCH = 256  # examples per onnxruntime call, and the fewest drawn per round of filtering
SUFFIXES = (".png", ".npy")
ContractError = contract.ContractError


def _first_line(error: BaseException) -> str:
    lines = str(error).splitlines()
    return lines[0] if lines else type(error).__name__


def sample_inputs(manifest: dict, n: int, seed: int = 0, **steering) -> dict[str, np.ndarray]:
    """G's named inputs for `n` samples (`contract.sample_inputs`, with its `label`, `codes`
    and `truncation`), in the dtypes of the exported generator's inputs."""
    if not contract.is_integer(n) or n < 1:
        raise ContractError(f"the number of samples must be a positive integer, got {n!r}")
    return _as_generator_inputs(manifest, contract.sample_inputs(manifest, n, seed, **steering))


def _as_generator_inputs(manifest: dict, drawn: dict) -> dict[str, np.ndarray]:
    """Drawn inputs as the exported generator takes them: each of its inputs, in its dtype."""
    inputs = {}
    for spec in contract.network(manifest, "generator")["inputs"]:
        if spec["name"] not in drawn:
            raise ContractError(f"generator input {spec['name']!r} is not described by the manifest")
        inputs[spec["name"]] = np.asarray(drawn[spec["name"]], dtype=spec["dtype"])
    return inputs


# === Running the networks ===


class Exported:
    """An export folder's networks in onnxruntime sessions: G, and the judge (and the
    classifier the class rules need) when the folder has them."""

    def __init__(self, export_dir: str | os.PathLike, manifest: dict | None = None):
        self.dir = Path(export_dir)
        self.manifest = contract.read_manifest(self.dir) if manifest is None else manifest
        if self.manifest.get("image_layout") != "NHWC":
            raise ContractError(f"image layout {self.manifest.get('image_layout')!r} is not supported")
        self._sessions = {}

    def _run(self, name: str, inputs: dict[str, np.ndarray], output: str | None = None) -> np.ndarray:
        network = contract.network(self.manifest, name)
        if name not in self._sessions:
            import onnxruntime as ort

            path = self.dir / network["onnx"]
            try:
                self._sessions[name] = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            except Exception as e:  # onnxruntime raises its own types for unreadable or invalid models
                raise ContractError(f"onnxruntime cannot load {path}: {_first_line(e)}") from e
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
            raise ContractError(f"{self.dir} was exported without a judge; drop --filter")
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

    def refined(self, inputs: dict[str, np.ndarray], steps: int, seed: int = 0,
                step_size: float = contract.REFINE_STEP_SIZE, noise: float = contract.REFINE_NOISE,
                bound: float = contract.REFINE_BOUND) -> dict[str, np.ndarray]:  # fmt: skip
        """`inputs` with z moved by `steps` Langevin steps on the judge's calibrated logit, as
        `zoo.evaluation.refine.refine_inputs` moves them (refine.onnx's gradient)."""
        return contract.langevin(inputs, self.energy_gradient, steps, step_size, noise, bound, seed)

    def refinement_for(self, rule: str, refine: dict | None = None) -> dict | None:
        """The refinement `filtered` applies before judging under `rule`: `refine` when given,
        else the judge card's own where this folder has the graph for it; None where it takes
        no step (a chain rule chooses among G's own proposals)."""
        if rule in contract.CHAIN_RULES:
            return None
        if refine is None:
            options = self.judge_card.get("refinement")
            refine = dict(options) if options and "refine" in self.manifest else None
        return refine if refine and refine["steps"] else None

    def energy_gradient(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """dE/dz for G's inputs (refine.onnx's `gradient`), E = ||z||^2 / 2 - calibrated logit."""
        if "refine" not in self.manifest:
            raise ContractError(f"{self.dir} was exported without the refinement graph; drop --refine")
        return self._run("refine", _as_generator_inputs(self.manifest, inputs), "gradient")

    def filtered(self, n: int, seed: int = 0, rule: str | None = None, max_draws: int = 50,
                 refine: dict | None = None, **steering) -> tuple[np.ndarray, float]:  # fmt: skip
        """n samples the judge accepts, drawn in rounds of max(n, 256) (round r from seed
        seed + 1000 r, as `zoo.evaluation.judge.Judge.filter` draws them), each round refined
        first with `refine` (`refined`'s options; None: the judge card's own "refinement" where
        the folder has the refinement graph; {"steps": 0}: none), `steering` as in
        `sample_inputs`; returns (images, acceptance rate)."""
        card = self.judge_card
        rule = rule or card.get("rule", "precision")
        if rule in contract.CHAIN_RULES:
            if refine:
                raise ContractError(f"the {rule!r} rule chooses among G's own proposals; drop --refine")
            length = int(contract.rule_params(card, rule)["chain_length"])
            drawn = contract.chain_inputs(self.manifest, n, length, seed, **steering)
            inputs = _as_generator_inputs(self.manifest, drawn)

            def proposals():
                images = self.generate(inputs)
                return images, self.judge_logits(images), contract.drs_rng(seed, 0)

            return contract.mh_sample(n, length, proposals)

        refine = self.refinement_for(rule, refine)

        def draw(round_: int) -> tuple[np.ndarray, np.ndarray]:
            inputs = sample_inputs(self.manifest, max(n, BATCH), seed + 1000 * round_, **steering)
            if refine:
                inputs = self.refined(inputs, seed=seed + 1000 * round_, **refine)
            images = self.generate(inputs)
            logits, classes = self.judge_logits(images), self.classes(images, inputs)
            return images, contract.accepted(logits, classes, card, rule, contract.drs_rng(seed, round_))

        return contract.rejection_sample(n, draw, max_draws)


def sample(export_dir: str | os.PathLike, n: int, seed: int = 0, **steering) -> np.ndarray:
    """n images from an export folder: (n, H, W, C) float32 in [-1, 1] (`steering`: label,
    codes, truncation)."""
    exported = Exported(export_dir)
    return exported.generate(sample_inputs(exported.manifest, n, seed, **steering))


def walk(exported: Exported, start, end, frames: int, **steering) -> tuple[np.ndarray, dict]:
    """(images, inputs) of `frames` steps between two samples (`contract.endpoint`: seeds or
    saved latents; `contract.interpolate`)."""
    ends = [contract.endpoint(exported.manifest, given, **steering) for given in (start, end)]
    inputs = _as_generator_inputs(exported.manifest, contract.interpolate(exported.manifest, *ends, frames))
    return exported.generate(inputs), inputs


# === The command ===


class _Parser(argparse.ArgumentParser):
    """A usage error is a ContractError, printed as one line like every other error."""

    def error(self, message):
        raise ContractError(message)


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
    contract.steering_arguments(parser)
    parser.add_argument("--refine", type=int, metavar="STEPS", help="Langevin steps on the judge's logit")
    parser.add_argument("--step-size", type=float, default=contract.REFINE_STEP_SIZE, help="with --refine")
    parser.add_argument(
        "--noise", type=float, default=contract.REFINE_NOISE, help="with --refine (0: descent)"
    )
    parser.add_argument("--filter", choices=["judge"], help="keep only samples the judge accepts")
    parser.add_argument(
        "--rule", choices=contract.RULES, help="the judge's rule (default: the one it was fitted with)"
    )
    parser.add_argument("--out", type=Path, required=True,
                        help="a .png grid or a .npy array; with --interpolate also .gif or .webp")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        steering = contract.steering_of(args)
        if args.interpolate:
            if args.filter or args.refine is not None:
                raise ContractError("--interpolate walks between two samples; drop --filter and --refine")
            contract.check_walk_out(args.out)
            frames, inputs = walk(Exported(args.export), *args.interpolate, args.frames, **steering)
            contract.save_walk(args.out, frames)
            if args.save_latents:
                contract.save_latents(args.save_latents, inputs)
            print(f"wrote {args.frames} frames to {args.out}")
            return 0
        if args.save_latents and args.filter:
            raise ContractError("--save-latents writes plain or refined samples' inputs; drop --filter")
        if args.out.suffix not in SUFFIXES:
            raise ContractError(f"--out must end in .png or .npy, got {args.out}")
        if args.rule and not args.filter:
            raise ContractError("--rule chooses the judge's rule; it needs --filter judge")
        exported = Exported(args.export)
        refine = None
        if args.refine is not None:  # contract.langevin checks the options
            refine = {"steps": args.refine, "step_size": args.step_size, "noise": args.noise}
        if args.filter:
            samples, rate = exported.filtered(args.n, args.seed, args.rule, refine=refine, **steering)
            inputs = None
            rule = args.rule or exported.judge_card.get("rule", "precision")
            refined = exported.refinement_for(rule, refine)
            how = f" after {refined['steps']} refinement steps" if refined else ""
            print(f"the judge ({rule}) accepted {rate:.1%} of the samples drawn{how}")
        else:
            inputs = sample_inputs(exported.manifest, args.n, args.seed, **steering)
            if refine:
                inputs = exported.refined(inputs, seed=args.seed, **refine)
            samples = exported.generate(inputs)
        if args.save_latents:
            contract.save_latents(args.save_latents, inputs)
        discrete = contract.classes_of(exported.manifest)
        steered = args.label is not None or args.code or args.filter
        cols = discrete[1] if discrete and not steered else None
        contract.save_samples(args.out, samples, cols)
    except ContractError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.n} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
