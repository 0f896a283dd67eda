"""`ganzoo`: list recipes, train one, sample from a run, export a run.

Every failure the user can fix is one line on stderr and exit status 2.
"""

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import recipes
from zoo.errors import ZooError


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
    train.set_defaults(func=_train)

    sample = commands.add_parser("sample", help="draw a grid of samples from a trained run")
    sample.add_argument("run", type=Path)
    sample.add_argument("--n", type=_positive_int, default=64)
    sample.add_argument("--out", type=Path, required=True, help="a .png grid or a .npy array")
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(func=_sample)

    export = commands.add_parser("export", help="export G and D to SavedModel and ONNX")
    export.add_argument("run", type=Path)
    export.add_argument("--out", type=Path, help="default: RUN/export")
    export.add_argument("--force", action="store_true", help="replace an existing export")
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
    recipe = dataclasses.replace(recipe, **{k: v for k, v in flags.items() if v is not None})
    run_dir = args.run_dir or Path("runs") / recipe.name
    summary = recipes.run(
        recipe,
        run_dir,
        time_budget=args.time_budget,
        export=not args.no_export,
        verbose="auto" if sys.stdout.isatty() else 2,  # a line per epoch in logs, not a bar
    )
    print(
        f"trained {recipe.name} into {run_dir}: {summary['generator_steps']} generator steps, "
        f"{summary['train_images_per_second']} images/s, stopped by {summary['stopped_by']}"
    )
    return 0


def _require_run(run: Path) -> None:
    if not run.is_dir():
        raise ZooError(f"run directory {run} does not exist")
    if not (run / "final.keras").is_file():
        raise ZooError(f"{run} has no final.keras; train it first (ganzoo train --run-dir {run})")


def _sample(args) -> int:
    _require_run(args.run)
    if args.out.suffix not in (".png", ".npy"):
        raise ZooError(f"--out must end in .png or .npy, got {args.out}")
    import numpy as np

    from recipes.training import load_run
    from zoo import images

    model = load_run(args.run)
    samples = model.generate(args.n, seed=args.seed)
    if args.out.suffix == ".npy":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(f".{args.out.name}.tmp.npy")
        np.save(tmp, samples)
        os.replace(tmp, args.out)
    else:
        images.save_png(args.out, images.grid(samples), scale=2)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def _export(args) -> int:
    _require_run(args.run)
    out = args.out or args.run / "export"
    if out.exists() and not args.force:
        raise ZooError(f"{out} already exists; pass --force to replace it")
    from export.artifacts import export_run

    manifest = export_run(args.run, out, replace=args.force)
    worst = max(v for p in manifest["parity"].values() if isinstance(p, dict) for v in p.values())
    print(f"exported to {out} (onnxruntime and SavedModel within {worst:.2g} of Keras)")
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
