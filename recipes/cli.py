"""`ganzoo`: list recipes, train one, sample, evaluate, judge or export a trained GAN.

A trained GAN is a run directory or a preset (a shipped preset's name or a preset folder);
`zoo.presets.locate` reads both. Every failure the user can fix is one line on stderr and
exit status 2.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

from recipes import book, trainer
from recipes.recipe import ClassifierRecipe
from recipes.run_options import RunOptions
from recipes.scale import STRATEGIES
from zoo import contract, presets
from zoo.errors import ZooError, first_line
from zoo.files import write_fault, write_json


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


RULE_HELP = "the judge's acceptance rule (default: the one it was fitted with; see `ganzoo judge --help`)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganzoo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("list", help="list the recipes, with their presets' figures").set_defaults(func=_list)

    train = commands.add_parser("train", help="train a recipe into a run directory")
    train.add_argument("recipe", nargs="?", default=book.DEFAULT_RECIPE)
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
    train.add_argument(
        "--data",
        metavar="SOURCE",
        help="train on other data: a folder of images (class subfolders are labels), a .npy/.npz "
        "file or a tfds dataset name (default: the recipe's dataset)",
    )
    train.add_argument(
        "--image-size", type=_positive_int, help="square side in px, 28 to 128 (default: the data's)"
    )
    train.add_argument(
        "--channels", type=int, choices=(1, 3), help="1 grayscale, 3 RGB (default: the data's)"
    )
    train.add_argument(
        "--fit", choices=("crop", "pad"), help="non-square images: centre-crop or pad (default crop)"
    )
    train.add_argument(
        "--background", help="under transparent pixels and padding: white (default), black, gray, #rrggbb"
    )
    train.add_argument("--resize", help="resize method, anti-aliased when shrinking: bilinear (default), "
                       "bicubic, "
                       "lanczos3, area, nearest")  # fmt: skip
    train.add_argument("--run-dir", type=Path, help="default: runs/RECIPE; reusing one resumes it")
    train.add_argument(
        "--backup-every",
        type=int,
        metavar="STEPS",
        help="back the run up every STEPS steps, and at each epoch's end (default: the recipe's "
        "backup_every, 500); 0: at epoch ends only. A rerun goes on from the last backup's step",
    )
    train.add_argument(
        "--from-preset",
        metavar="PRESET",
        help="fine-tune: start G and D from a preset (or run) of the same variant and dataset",
    )
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
        help="tf.distribute strategy (auto: mirrored when several GPUs are visible; multi-worker: "
        "the cluster in TF_CONFIG, every worker running the same command, the chief writing the run)",
    )
    train.add_argument(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bfloat16 on CPU/TPU, float16 on GPU; weights, logits and losses stay float32 "
        "(default: the recipe's mixed_precision, else on for CPUs with bfloat16 arithmetic, "
        "AVX512_BF16 or AMX, off elsewhere)",
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

    trained = "a run directory, a preset folder or a shipped preset's name"
    what = "draw a grid of samples (or a walk between two) from a run or preset"
    sample = commands.add_parser("sample", help=what)
    sample.add_argument("run", metavar="RUN_OR_PRESET", help=trained)
    sample.add_argument("--n", type=_positive_int, default=64)
    sample.add_argument("--out", type=Path, required=True,
                        help="a .png grid or a .npy array; with --interpolate also .gif or .webp")
    sample.add_argument("--seed", type=int, default=0)
    contract.steering_arguments(sample)
    sample.add_argument("--filter", choices=["judge"], help="keep only samples the run's judge accepts")
    sample.add_argument("--rule", choices=contract.RULES, help=RULE_HELP)
    sample.add_argument("--no-copies", action="store_true", help=NO_COPIES_HELP)
    sample.add_argument("--neighbours", action="store_true", help="a .png of each sample beside its nearest "
                        "training image (in the evaluation's feature space)")  # fmt: skip
    _refine_arguments(sample)
    sample.add_argument(
        "--code-sweep",
        action="store_true",
        help="InfoGAN: rows share z, columns run through the categorical code",
    )
    sample.set_defaults(func=_sample)

    evaluate = commands.add_parser("eval", help="quality metrics beside the real-data floor")
    evaluate.add_argument("run", metavar="RUN_OR_PRESET", help=trained)
    evaluate.add_argument("--n", type=_positive_int, default=10_000, help="number of samples")
    evaluate.add_argument("--filter", choices=["judge"], help="evaluate the judge-accepted samples")
    evaluate.add_argument("--rule", choices=contract.RULES, help=RULE_HELP)
    evaluate.add_argument("--no-copies", action="store_true", help=NO_COPIES_HELP)
    evaluate.add_argument("--seed", type=int, default=0)
    _refine_arguments(evaluate)
    skip = "skip the nearest-training-image figures (they extract the training split once)"
    evaluate.add_argument("--no-novelty", action="store_true", help=skip)
    evaluate.add_argument("--inception-weights", type=Path, help="an InceptionV3 weights file (standard FID)")
    evaluate.add_argument(
        "--classifier",
        type=Path,
        metavar="RUN",
        help="a classifier trained on your data's labels (ganzoo train classifier-noto-emoji --data SOURCE)",
    )
    evaluate.set_defaults(func=_eval)

    judge = commands.add_parser("judge", help="fit a run's judge, or score images with a run's or preset's")
    judge.add_argument("run", metavar="RUN_OR_PRESET", help=trained)
    judge.add_argument("images", nargs="*", type=Path, help="PNG files or .npy arrays of images in [-1, 1]")
    judge.add_argument("--fit", action="store_true", help="(re)fit the judge on held-out data")
    source_help = "with --fit: the scorer (default: discriminator; a preset keeps its own)"
    judge.add_argument("--source", choices=["discriminator", "critic"], help=source_help)
    judge.add_argument("--target-precision", type=float, default=0.9, help="the precision rule's target")
    judge.add_argument("--critic-images", type=_positive_int, help="with --fit --source critic: training "
                       "images it learns from (default: the recipe's critic_images, 20,000)")  # fmt: skip
    judge.add_argument(
        "--rule",
        choices=contract.RULES,
        help="with --fit: the default rule to store (default: class-share for a discriminator, drs for a "
        "critic; real-quantile for a class rule without classes); when scoring: the rule of the verdicts. "
        "Rules: precision (the target share real "
        "among accepted held-out images), real-quantile (P(real) at least that of the 10%% least "
        "real-looking held-out real images), class-real-quantile (the same per class), class-share "
        "(reject the lowest-scored 30%% of each class), drs (discriminator rejection sampling), mh "
        "(Metropolis-Hastings over 10 proposals)",
    )
    judge.set_defaults(func=_judge)

    export = commands.add_parser("export", help="export G, D and the judge to SavedModel, ONNX and LiteRT")
    export.add_argument("run", metavar="RUN_OR_PRESET", help=trained)
    export.add_argument("--out", type=Path, help="default: RUN/export (required for a preset)")
    export.add_argument("--force", action="store_true", help="replace an existing export")
    export.add_argument(
        "--web", action="store_true", help="add web/: a page that samples G in the browser (make web)"
    )
    export.add_argument(
        "--no-refine", action="store_true", help="leave out the refinement graph (the judge's gradient in z)"
    )
    export.set_defaults(func=_export)

    gallery = commands.add_parser("gallery", help="a static site of every shipped preset, each sampled live")
    gallery.add_argument("--out", type=Path, required=True, help="the site's folder (open index.html)")
    gallery.add_argument("--presets", nargs="+", metavar="NAME", help="only these shipped presets")
    gallery.add_argument("--force", action="store_true", help="replace an existing folder")
    gallery.set_defaults(func=_gallery)

    preset = commands.add_parser("preset", help="save a trained run as a preset, with its measured card")
    preset.add_argument("run", type=Path, nargs="?")
    preset.add_argument("--out", type=Path, help="the preset folder, e.g. presets/RECIPE")
    preset.add_argument("--upgrade", type=Path, nargs="+", metavar="PRESET",
                        help="convert presets saved before metadata.json, in place, without retraining")
    preset.add_argument("--remeasure", nargs="+", metavar="PRESET",
                        help="measure presets' cards again on their own weights (after sampling changed)")
    preset.add_argument("--n", type=_positive_int, default=10_000, help="samples for the card's figures")
    preset.add_argument("--command", help="the command that trained the run, for the card")
    preset.add_argument("--force", action="store_true", help="replace an existing preset")
    preset.set_defaults(func=_preset)
    return parser


def _list(args) -> int:
    shipped = presets.shipped()
    width = max(map(len, book.RECIPES))
    for name, recipe in book.RECIPES.items():
        default = " (default)" if name == book.DEFAULT_RECIPE else ""
        columns = f"{name:<{width}}  {recipe.variant:<7} {recipe.dataset:<14}"
        figures = _preset_figures(presets.locate(shipped[name])) if name in shipped else ""
        print(f"{columns} {recipe.description}{default}{figures}")
    return 0


def _preset_figures(preset: presets.Trained) -> str:
    """A preset's headline figures for `ganzoo list`, from its card."""
    report = (preset.card or {}).get("eval") or {}
    samples = report.get("samples") or {}
    if "frechet_distance" not in samples:
        return "  [preset]"
    parts = [f"FD {samples['frechet_distance']:.1f}", f"{samples['classes_covered']} classes"]
    if "label_accuracy" in samples:
        parts.append(f"label acc {samples['label_accuracy']:.3f}")
    if report.get("code_consistency"):
        parts.append(f"code consistency {report['code_consistency']['mean_consistency']:.2f}")
    return f"  [preset: {', '.join(parts)}]"


def _train(args) -> int:
    recipe = book.get(args.recipe).with_overrides(args.set)
    flags = {
        "epochs": args.epochs,
        "steps_per_epoch": args.steps_per_epoch,
        "backup_every": args.backup_every,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "dataset": _data_source(args.data),
        "image_size": args.image_size,
        "channels": args.channels,
        "fit": args.fit,
        "background": args.background,
        "resize": args.resize,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    fields = {f.name for f in dataclasses.fields(recipe)}
    for key in given.keys() - fields:
        raise ZooError(f"--{key.replace('_', '-')} does not apply to {recipe.name}")
    recipe = dataclasses.replace(recipe, **given)

    run_dir = args.run_dir or Path("runs") / recipe.name
    options = RunOptions(
        time_budget=args.time_budget,
        strategy=args.strategy,
        mixed_precision=args.mixed_precision,
        jit=args.jit,
        deterministic=args.deterministic,
        init_from=_locate(args.from_preset) if args.from_preset else None,
        export=not args.no_export,
    )
    verbose = "auto" if sys.stdout.isatty() else 2  # a line per epoch in logs, not a bar
    summary = trainer.run(recipe, run_dir, dataclasses.replace(options, verbose=verbose))
    if isinstance(recipe, ClassifierRecipe):
        print(f"trained {recipe.name} into {run_dir}: test accuracy {summary['test_accuracy']:.4f}")
    else:
        reason = summary["stopped_by"]
        if reason == "health":
            reason += f" at step {summary['health_step']}: {summary['health_message']}"
        if reason == "signal":
            reason = (f"{summary['signal']} at step {summary['generator_steps']}, backed up; run the same "
                      "command again to go on")  # fmt: skip
        where = f"into {run_dir}"
        if not summary["chief"]:
            where = f"as {summary['worker']} (the chief writes {run_dir})"
        print(
            f"trained {recipe.name} {where}: {summary['generator_steps']} generator steps, "
            f"{summary['train_images_per_second']} images/s in {summary['precision']}, stopped by {reason}"
        )
        if summary["stopped_by"] == "signal":
            from zoo.training.preemption import exit_status

            return exit_status(summary["signal"])
    return 0


def _data_source(text: str | None) -> str | None:
    """--data as the recipe stores it: an existing path made absolute (a rerun from another
    folder finds it), anything else as given (a tfds name)."""
    if text is None:
        return None
    path = Path(text).expanduser()
    return str(path.resolve()) if path.exists() else text


def _locate(source: str) -> presets.Trained:
    """A run or preset (`zoo.presets.locate`) whose recipe this version knows."""
    from recipes.trainer import check_config

    trained = presets.locate(source)
    if trained.config is not None:  # a model saved by hand has none
        name = "config.json" if trained.kind == "run" else presets.RECIPE
        check_config(trained.config, trained.path / name)
    return trained


NO_COPIES_HELP = (
    "with --filter judge: also reject near-copies of training images "
    "(closer to one than 99%% of held-out real images are to theirs)"
)


def _needs_filter(args) -> None:
    if args.rule and not args.filter:
        raise ZooError("--rule chooses the judge's rule; it needs --filter judge")
    if args.no_copies and not args.filter:
        raise ZooError("--no-copies makes the judge reject near-copies; it needs --filter judge")


def _refine_arguments(parser) -> None:
    refine = ("move each z uphill on the judge's calibrated logit: Langevin steps (Che et al. 2020); with "
              "--filter judge the default is the judge's own (a critic's: 20), 0 for none")  # fmt: skip
    parser.add_argument("--refine", type=int, metavar="STEPS", help=refine)
    step, noise = contract.REFINE_STEP_SIZE, contract.REFINE_NOISE
    parser.add_argument("--step-size", type=float, default=step, help="with --refine: the Langevin step")
    parser.add_argument("--noise", type=float, default=noise, help="with --refine: noise scale (0: descent)")


def _refinement(args):
    """The refinement --refine asks for, or None."""
    if args.refine is None:
        return None
    from zoo.evaluation.refine import Refinement

    return Refinement(steps=args.refine, step_size=args.step_size, noise=args.noise)


def _sample(args) -> int:
    _needs_filter(args)
    trained = _locate(args.run)
    if args.interpolate:
        return _walk(args, trained.model())
    if args.out.suffix not in (".png", ".npy"):
        raise ZooError(f"--out must end in .png or .npy, got {args.out}")
    if args.neighbours and args.out.suffix != ".png":
        raise ZooError(f"--neighbours draws a picture; --out must end in .png, got {args.out}")
    model = trained.model()
    evaluator = _evaluator(trained) if args.no_copies or args.neighbours else None  # built once for both
    refinement = _refinement(args)
    steering = contract.steering_of(args)
    if args.save_latents and args.filter:
        raise ZooError("--save-latents writes plain or refined samples' inputs; drop --filter")
    if args.code_sweep and (args.label is not None or args.code or args.truncation):
        raise ZooError("--code-sweep sets the codes itself; drop --label, --code and --truncation")
    if args.code_sweep:
        if not hasattr(model, "code_sweep"):
            raise ZooError(
                f"{args.run} holds a {type(model).__name__}, which has no categorical code to sweep"
            )
        rows = max(1, args.n // model.categorical_code)
        drawn = model.code_sweep(rows, args.seed)
        samples = model.generate(rows * model.categorical_code, inputs=drawn)
    elif args.filter:
        judge = _judge_of(trained)
        copies = evaluator.copies if args.no_copies else None
        samples, rate = judge.filter(model, args.n, seed=args.seed, rule=args.rule,
                                     refinement=refinement, copies=copies, steering=steering)  # fmt: skip
        drawn = None
        rule = args.rule or judge.rule
        refined = judge.refinement_for(rule, refinement)
        how = f" after {refined.steps} refinement steps" if refined else ""
        also = " (near-copies rejected too)" if copies else ""
        print(f"the judge ({rule}) accepted {rate:.1%} of the samples drawn{how}{also}")
    elif args.refine is not None:
        from zoo.evaluation.refine import refine_inputs

        drawn = refine_inputs(model, _judge_of(trained), model.sample_inputs(args.n, args.seed, **steering),
                              refinement, args.seed)  # fmt: skip
        samples = model.generate(args.n, inputs=drawn)
    else:
        drawn = model.sample_inputs(args.n, args.seed, **steering)
        samples = model.generate(args.n, inputs=drawn)
    if args.save_latents:
        contract.save_latents(args.save_latents, drawn)
    if args.neighbours:
        return save_neighbours(evaluator, samples, args.out)
    steered = args.label is not None or bool(args.code)  # every column the same class or code
    contract.save_samples(args.out, samples, cols=None if steered else model.grid_columns)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def _gallery(args) -> int:
    from export import gallery

    if args.out.exists() and not args.force:
        raise ZooError(f"{args.out} already exists; pass --force to replace it")
    gallery.build(args.out, args.presets, replace=args.force)
    print(f"wrote the gallery to {args.out}: open {args.out / 'index.html'}, or serve the folder "
          f"(python -m http.server -d {args.out})")  # fmt: skip
    return 0


def _walk(args, model) -> int:
    """`ganzoo sample --interpolate START END`: the frames between two samples."""
    if args.filter or args.refine is not None or args.code_sweep or args.neighbours:
        raise ZooError(
            "--interpolate walks between two samples; drop --filter, --refine, --code-sweep and --neighbours"
        )
    steering = contract.steering_of(args)
    fields = model.input_fields
    try:
        contract.check_walk_out(args.out)
        start, end = (contract.endpoint(fields, given, **steering) for given in args.interpolate)
        walk = contract.interpolate(fields, start, end, args.frames)
        frames = model.generate(args.frames, inputs=walk)
        contract.save_walk(args.out, frames)
        if args.save_latents:
            contract.save_latents(args.save_latents, walk)
    except contract.ContractError as e:
        raise ZooError(str(e)) from None
    print(f"wrote {args.frames} frames from {args.interpolate[0]} to {args.interpolate[1]} to {args.out}")
    return 0


def _evaluator(trained: presets.Trained, inception_weights=None, classifier=None):
    """The evaluation of a trained GAN's dataset (its reference features, its training set)."""
    from zoo.evaluation.evaluate import Evaluator
    from zoo.evaluation.features import extractor_for

    source = trained.source
    extractor = extractor_for(source.name, inception_weights, source.spec.image_shape, classifier)
    return Evaluator(source, extractor, prior=getattr(extractor, "info", {}).get("class_prior"))


def save_neighbours(evaluator, samples, out: Path) -> int:
    """Each sample beside its nearest training image (`Evaluator.nearest_training`): two
    columns per pair, ten pairs a row."""
    import numpy as np

    from zoo import data

    distance, index = evaluator.nearest_training(samples)
    train = data.real_images(evaluator.source, "train")
    pairs = np.stack([samples, train[index]], axis=1).reshape(-1, *samples.shape[1:])
    contract.save_samples(out, pairs, cols=2 * min(10, len(samples)))
    threshold = evaluator.training_set().copy_threshold
    print(f"wrote {len(samples)} samples, each beside its nearest training image, to {out}; median distance "
          f"{np.median(distance):.3g}, {int(np.sum(distance < threshold))} closer than the copy threshold "
          f"{threshold:.3g} (99% of held-out real images are farther from theirs)")  # fmt: skip
    return 0


def _judge_of(trained: presets.Trained):
    judge = trained.judge()
    if judge is None:
        raise ZooError(f"{trained.path} has no judge; build one with `ganzoo judge {trained.path} --fit`")
    return judge


def _export(args) -> int:
    trained = _locate(args.run)
    if args.out is None and trained.kind == "preset":
        raise ZooError(f"{args.run} is a preset; give the export folder with --out DIR")
    out = args.out or trained.path / "export"
    if out.exists() and not args.force:
        raise ZooError(f"{out} already exists; pass --force to replace it")
    from export.artifacts import export_trained

    manifest = export_trained(trained, out, replace=args.force, web=args.web, with_refine=not args.no_refine)
    parity = manifest["parity"]
    worst = max(v / parity["output_scale"][n] for n in parity["output_scale"] for v in parity[n].values())
    print(
        f"exported to {out} (onnxruntime, SavedModel and LiteRT within {worst:.2g} of Keras, relative "
        "to outputs over 1)"
    )
    if args.web:
        print(f"sampling page: python -m http.server -d {out}, then open /web/ in a browser")
    return 0


def _eval(args) -> int:
    _needs_filter(args)
    trained = _locate(args.run)
    if args.seed < 0:
        raise ZooError(f"--seed must be non-negative, got {args.seed}")
    from zoo.evaluation.evaluate import evaluate, table

    evaluator = _evaluator(trained, args.inception_weights, args.classifier)
    model = trained.model()
    judge = _judge_of(trained) if args.filter or args.refine is not None else None
    kept_by = judge if args.filter else None
    report = evaluate(model, evaluator, args.n, seed=args.seed, judge=kept_by, rule=args.rule,
                      refinement=_refinement(args), energy=judge, novelty=not args.no_novelty,
                      no_copies=args.no_copies)  # fmt: skip
    print(table(report))
    if trained.kind == "run":  # a preset's figures live on its card, written once
        name = "eval-judge.json" if args.filter else "eval.json"
        write_json(trained.path / name, report)
        print(f"wrote {trained.path / name}")
    return 0


def _preset(args) -> int:
    if args.upgrade:
        if args.run or args.out:
            raise ZooError("--upgrade converts presets in place; give no run and no --out")
        for folder in args.upgrade:
            upgraded = presets.upgrade(folder)
            print(f"converted {upgraded.path} (every file's sha256 checked first)")
        return 0
    if args.remeasure:
        if args.run or args.out:
            raise ZooError("--remeasure rewrites presets in place; give no run and no --out")
        from recipes.shipping import remeasure

        for name in args.remeasure:
            preset = remeasure(_locate(name), n=args.n)
            print(f"measured {preset.path} again{_preset_figures(preset)}")
        return 0
    if args.run is None or args.out is None:
        raise ZooError("give the run to save and the preset folder: ganzoo preset RUN --out DIR")
    trained = _locate(args.run)
    if trained.kind != "run":
        raise ZooError(f"{args.run} is already a preset; give a run directory")
    if args.out.exists() and not args.force:
        raise ZooError(f"{args.out} already exists; pass --force to replace it")
    from recipes.shipping import save_run_as_preset

    preset = save_run_as_preset(trained, args.out, n=args.n, command=args.command, replace=args.force)
    size = sum(p.stat().st_size for p in preset.path.rglob("*") if p.is_file())
    print(f"saved {preset.name} to {preset.path} ({size / 1e6:.2f} MB){_preset_figures(preset)}")
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
    trained = _locate(args.run)
    if not args.fit and not args.images:
        raise ZooError("give image files to score, or --fit to build the judge")
    if not 0 < args.target_precision <= 1:
        raise ZooError(f"--target-precision must be in (0, 1], got {args.target_precision}")
    if args.fit:
        from recipes.trainer import CRITIC_IMAGES, fit_judge

        critic_images = args.critic_images or (trained.recipe or {}).get("critic_images", CRITIC_IMAGES)
        if trained.kind == "preset":  # rewrites the preset's judge/ and its card's sha256
            from recipes.shipping import refit_judge

            judge = refit_judge(trained, args.source, args.target_precision, args.rule, critic_images)
        else:
            judge = fit_judge(trained.model(), trained.source, trained.path, args.source or "discriminator",
                              args.target_precision, args.rule, critic_images=critic_images)  # fmt: skip
        print(judge_card(judge))
    if args.images:
        judge = _judge_of(trained)
        names, images = _read_images(args.images, judge.image_shape)
        rule = args.rule or judge.rule
        if rule in contract.CLASS_RULES and judge.classes_from == "label":
            rule = "real-quantile"  # files come without labels
        verdicts = judge.accept(images, rule=rule)
        for name, score, ok in zip(names, judge.scores(images), verdicts, strict=True):
            print(f"{name}\t{score:.4f}\t{'accept' if ok else 'reject'}")
    return 0


def judge_card(judge) -> str:
    """What a fitted judge says of itself: its calibration, then each rule's acceptance of
    held-out real and generated images (images it was not fitted on)."""
    info = judge.info
    lines = [
        f"judge ({info['source']}): temperature {judge.temperature:.3g}, bias {judge.bias:.3g}, "
        f"ECE {info['ece_before']:.3f} -> {info['ece_after']:.3f}"
        + (f", AUC {info['auc']:.3f}" if "auc" in info else "")
        + f"; classes from {judge.classes_from}; default rule {judge.rule}"
        + (f" after {judge.default_refinement.steps} refinement steps" if judge.default_refinement else ""),
        f"{'rule':<22}{'real accepted':>14}{'generated accepted':>20}",
    ]
    for rule, rates in info.get("acceptance", {}).items():
        mark = " (default)" if rule == judge.rule else ""
        if "moves" in rates:  # a chain rule: one sample per chain, the share of moves its chains make
            chain = round(1 / rates["generated"])
            mark += f" (one sample per {chain} proposals; {rates['moves']:.1%} of moves made)"
        real = f"{rates['real']:.1%}" if "real" in rates else ""
        lines.append(f"{rule:<22}{real:>14}{rates['generated']:>20.1%}{mark}")
    if "agreement" in info:
        a = info["agreement"]
        lines.append(
            f"its ranking vs the realism score (Kynkaanniemi et al. 2019), {a['n']} samples: Spearman "
            f"{a['realism_spearman']:.2f}; outside the real manifold: "
            f"{a['outside_real_manifold']:.0%} of all, "
            f"{a['judges_top_tenth_outside']:.0%} of the judge's top tenth; inside it: "
            f"{a['judges_bottom_tenth_inside']:.0%} of its bottom tenth"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # argparse has printed its one line (or --help)
        return e.code
    try:
        return args.func(args)
    except ZooError as e:
        print(f"ganzoo: error: {e}", file=sys.stderr)
        return e.exit_status
    except Exception as e:  # a write the disk refused where no ZooError names it (TensorBoard's)
        reason = write_fault(e)
        if reason is None:
            raise
        print(f"ganzoo: error: a write failed ({reason}): {first_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganzoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
