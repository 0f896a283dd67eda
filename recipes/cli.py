"""`ganzoo`: list recipes, train one, sample from a run, export a run.

Every failure the user can fix is one line on stderr and exit status 2.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

import recipes
from recipes.scale import STRATEGIES
from recipes.training import require_run
from zoo.errors import ZooError
from zoo.files import save_npy, write_json


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump), like every other error."""

    def error(self, message):
        command = self.prog.removeprefix("ganzoo").strip()
        self.exit(2, f"ganzoo: error: {command + ': ' if command else ''}{message}\n")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganzoo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("list", help="list the recipes").set_defaults(func=_list)

    train = commands.add_parser("train", help="train a recipe into a run directory")
    train.add_argument("recipe", nargs="?", default=recipes.DEFAULT_RECIPE)
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--steps-per-epoch", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--seed", type=int)
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field (repeatable)",
    )
    train.add_argument("--run-dir", type=Path, help="default: runs/RECIPE; reusing one resumes it")
    train.add_argument(
        "--time-budget",
        type=_positive_float,
        metavar="SECONDS",
        help="stop after the step that crosses this wall time",
    )
    train.add_argument("--no-export", action="store_true", help="skip export/ at the end")
    train.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="tf.distribute strategy (auto: mirrored when several GPUs are visible)",
    )
    train.add_argument(
        "--mixed-precision",
        action="store_true",
        help="bfloat16 on CPU/TPU, float16 on GPU; weights, logits and losses stay float32",
    )
    train.add_argument(
        "--jit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="XLA; default by device type (off on CPU)",
    )
    train.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic TensorFlow ops: the same recipe and seed give bit-identical weights",
    )
    train.set_defaults(func=_train)

    sample = commands.add_parser("sample", help="draw a grid of samples from a trained run")
    sample.add_argument("run", type=Path)
    sample.add_argument("--n", type=_positive_int, default=64)
    sample.add_argument("--out", type=Path, required=True, help="a .png grid or a .npy array")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--filter", choices=["judge"], help="keep only samples the run's judge accepts")
    sample.add_argument(
        "--code-sweep",
        action="store_true",
        help="InfoGAN: rows share z, columns run through the categorical code",
    )
    sample.set_defaults(func=_sample)

    evaluate = commands.add_parser("eval", help="quality metrics of a run, beside the real-data floor")
    evaluate.add_argument("run", type=Path)
    evaluate.add_argument("--n", type=_positive_int, default=10_000, help="number of samples")
    evaluate.add_argument("--filter", choices=["judge"], help="evaluate the judge-accepted samples")
    evaluate.add_argument("--inception-weights", type=Path, help="an InceptionV3 weights file (standard FID)")
    evaluate.set_defaults(func=_eval)

    judge = commands.add_parser("judge", help="fit a run's judge, or score images with it")
    judge.add_argument("run", type=Path)
    judge.add_argument("images", nargs="*", type=Path, help="PNG files or .npy arrays of images in [-1, 1]")
    judge.add_argument("--fit", action="store_true", help="(re)fit the judge on held-out data")
    judge.add_argument("--source", choices=["discriminator", "critic"], default="discriminator")
    judge.add_argument("--target-precision", type=float, default=0.9)
    judge.set_defaults(func=_judge)

    export = commands.add_parser("export", help="export G and D to SavedModel and ONNX")
    export.add_argument("run", type=Path)
    export.add_argument("--out", type=Path, help="default: RUN/export")
    export.add_argument("--force", action="store_true", help="replace an existing export")
    export.add_argument(
        "--web", action="store_true", help="add web/: a page that samples G in the browser (make web)"
    )
    export.set_defaults(func=_export)
    return parser


def _list(args) -> int:
    width = max(map(len, recipes.RECIPES))
    for name, recipe in recipes.RECIPES.items():
        default = " (default)" if name == recipes.DEFAULT_RECIPE else ""
        columns = f"{name:<{width}}  {recipe.variant:<6} {recipe.dataset:<14}"
        print(f"{columns} {recipe.description}{default}")
    return 0


def _train(args) -> int:
    recipe = recipes.get(args.recipe).with_overrides(args.set)
    flags = {
        "epochs": args.epochs,
        "steps_per_epoch": args.steps_per_epoch,
        "batch_size": args.batch_size,
        "seed": args.seed,
    }
    if args.jit is not None and isinstance(recipe, recipes.Recipe):
        flags["jit_compile"] = args.jit
    given = {k: v for k, v in flags.items() if v is not None}
    fields = {f.name for f in dataclasses.fields(recipe)}
    for key in given.keys() - fields:
        raise ZooError(f"--{key.replace('_', '-')} does not apply to {recipe.name}")
    recipe = dataclasses.replace(recipe, **given)
    run_dir = args.run_dir or Path("runs") / recipe.name
    summary = recipes.run(
        recipe,
        run_dir,
        time_budget=args.time_budget,
        export=not args.no_export,
        verbose="auto" if sys.stdout.isatty() else 2,  # a line per epoch in logs, not a bar
        **(
            {}
            if isinstance(recipe, recipes.ClassifierRecipe)
            else {
                "strategy": args.strategy,
                "mixed_precision": args.mixed_precision,
                "deterministic": args.deterministic,
            }
        ),
    )
    if isinstance(recipe, recipes.ClassifierRecipe):
        print(f"trained {recipe.name} into {run_dir}: test accuracy {summary['test_accuracy']:.4f}")
    else:
        reason = summary["stopped_by"]
        if reason == "health":
            reason += f" at step {summary['health_step']}: {summary['health_message']}"
        print(
            f"trained {recipe.name} into {run_dir}: {summary['generator_steps']} generator steps, "
            f"{summary['train_images_per_second']} images/s, stopped by {reason}"
        )
    return 0


def _sample(args) -> int:
    require_run(args.run)
    if args.out.suffix not in (".png", ".npy"):
        raise ZooError(f"--out must end in .png or .npy, got {args.out}")

    from recipes.training import load_run
    from zoo import images

    model = load_run(args.run)
    if args.code_sweep:
        if not hasattr(model, "code_sweep"):
            raise ZooError(
                f"{args.run} holds a {type(model).__name__}, which has no categorical code to sweep"
            )
        rows = max(1, args.n // model.categorical_code)
        samples = model.generate(rows * model.categorical_code, inputs=model.code_sweep(rows, args.seed))
    elif args.filter:
        from zoo.judge import Judge

        samples, rate = Judge.load(args.run / "judge").filter(model, args.n, seed=args.seed)
        print(f"the judge accepted {rate:.1%} of the samples drawn")
    else:
        samples = model.generate(args.n, seed=args.seed)
    if args.out.suffix == ".npy":
        save_npy(args.out, samples)
    else:
        images.save_png(args.out, images.grid(samples, cols=model.grid_columns), scale=2)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def _export(args) -> int:
    require_run(args.run)
    out = args.out or args.run / "export"
    if out.exists() and not args.force:
        raise ZooError(f"{out} already exists; pass --force to replace it")
    from export.artifacts import export_run

    manifest = export_run(args.run, out, replace=args.force, web=args.web)
    worst = max(v for p in manifest["parity"].values() if isinstance(p, dict) for v in p.values())
    print(f"exported to {out} (onnxruntime and SavedModel within {worst:.2g} of Keras)")
    if args.web:
        print(f"sampling page: python -m http.server -d {out}, then open /web/ in a browser")
    return 0


def _eval(args) -> int:
    require_run(args.run)
    from recipes.training import load_run, read_config
    from zoo.metrics.evaluate import Evaluator, table
    from zoo.metrics.features import extractor_for

    config = read_config(args.run)
    extractor = extractor_for(config["dataset"], args.inception_weights)
    model = load_run(args.run)
    acceptance = None
    if args.filter:
        from zoo.judge import Judge

        samples, acceptance = Judge.load(args.run / "judge").filter(model, args.n)
    else:
        samples = model.generate(args.n)
    report = Evaluator(config["dataset"], extractor, prior=getattr(extractor, "info", {}).get("class_prior"))
    report = report.report(samples)
    report["filter"], report["acceptance_rate"] = args.filter, acceptance
    print(table(report))
    if model.codes and "code_cat" in model.codes:
        from zoo.metrics.evaluate import code_consistency

        report["code_consistency"] = consistency = code_consistency(model, extractor)
        print(
            f"categorical code: {consistency['mean_consistency']:.1%} of samples per code value share its "
            f"majority class; {consistency['distinct_classes']} distinct classes over the code values"
        )
    if acceptance is not None:
        print(f"acceptance rate {acceptance:.1%}")
    name = "eval-judge.json" if args.filter else "eval.json"
    write_json(args.run / name, report)
    print(f"wrote {args.run / name}")
    return 0


def _read_images(paths: list[Path], image_shape) -> tuple[list[str], object]:
    """PNG files (uint8, converted to the model's channels and [-1, 1]) or .npy arrays, as they are."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    names, arrays = [], []
    for path in paths:
        if not path.is_file():
            raise ZooError(f"{path} does not exist")
        if path.suffix == ".npy":
            try:
                array = np.load(path, allow_pickle=False)
            except ValueError as e:
                raise ZooError(f"{path} is not a plain .npy array: {e}") from e
            array = array[None] if array.ndim == 3 else array
            if array.ndim != 4:
                raise ZooError(f"{path} holds an array of shape {array.shape}; give images (N, H, W, C)")
            names += [f"{path}[{i}]" for i in range(len(array))]
            arrays.append(array)
            continue
        try:
            image = Image.open(path).convert("L" if image_shape[-1] == 1 else "RGB")
        except (UnidentifiedImageError, OSError) as e:
            raise ZooError(f"{path} is not an image file") from e
        if image.size != (image_shape[1], image_shape[0]):
            size = f"{image.size[0]}x{image.size[1]}"
            raise ZooError(f"{path} is {size}; the judge takes {image_shape[1]}x{image_shape[0]}")
        array = np.asarray(image, np.float32).reshape(image_shape) / 127.5 - 1.0
        names.append(str(path))
        arrays.append(array[None])
    shapes = {a.shape[1:] for a in arrays}
    if len(shapes) > 1:
        raise ZooError(f"the images have different shapes: {sorted(shapes)}")
    return names, np.concatenate(arrays)


def _judge(args) -> int:
    require_run(args.run)
    if not args.fit and not args.images:
        raise ZooError("give image files to score, or --fit to build the judge")
    if not 0 < args.target_precision <= 1:
        raise ZooError(f"--target-precision must be in (0, 1], got {args.target_precision}")
    from recipes.training import fit_judge, load_run, read_config
    from zoo.judge import Judge

    if args.fit:
        config = read_config(args.run)
        judge = fit_judge(load_run(args.run), config["dataset"], args.run, args.source, args.target_precision)
        info = judge.info
        print(
            f"judge ({info['source']}): temperature {judge.temperature:.3g}, "
            f"threshold {judge.threshold:.3g}, "
            f"ECE {info['ece_before']:.3f} -> {info['ece_after']:.3f}, "
            f"held-out acceptance: real {info['held_out_real_acceptance']:.1%}, "
            f"fake {info['held_out_fake_acceptance']:.1%}"
        )
    if args.images:
        judge = Judge.load(args.run / "judge")
        names, images = _read_images(args.images, judge.image_shape)
        scores = judge.scores(images)
        for name, score in zip(names, scores, strict=True):
            print(f"{name}\t{score:.4f}\t{'accept' if score >= judge.threshold else 'reject'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # argparse has printed its one line (or --help)
        return e.code
    try:
        return args.func(args)
    except ZooError as e:
        print(f"ganzoo: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganzoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
