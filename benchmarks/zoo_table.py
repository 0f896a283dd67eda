"""The zoo's results table and sample grids, from the shipped presets.

For each preset: how it was trained (generator steps, wall seconds, images/s, cores) and
what `ganzoo eval` measured on it (Frechet distance, KID, precision/recall, classes
covered, label accuracy or code consistency), beside the real-data floor. The figures are
the ones on each preset's card; `--evaluate N` measures them again on N samples instead.
Every preset also gets a grid in docs/zoo/: one column per class or categorical code
value where the variant has them, as many rows as columns (each row of an InfoGAN code sweep
shares z).

    .venv/bin/python benchmarks/zoo_table.py [--evaluate N] [--readme README.md] [--grids docs/zoo]

With --readme, the table replaces the lines between `<!-- zoo-table -->` and
`<!-- /zoo-table -->` in that file.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo import contract, presets

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- zoo-table -->", "<!-- /zoo-table -->"


def conditioning(report: dict) -> str:
    samples = report["samples"]
    if "label_accuracy" in samples:
        return f"label acc {samples['label_accuracy']:.3f} (classifier {report['classifier_accuracy']:.3f})"
    if report.get("code_consistency"):
        c = report["code_consistency"]
        return f"code consistency {c['mean_consistency']:.2f}, {c['distinct_classes']} classes"
    return ""


def row(name: str, card: dict, report: dict, grid_path: Path | None) -> str:
    t, s = card["training"], report["samples"]
    cores = (card.get("machine") or {}).get("cores_used")
    picture = f"[grid]({Path(os.path.relpath(grid_path, ROOT)).as_posix()})" if grid_path else ""
    policy = t.get("precision")
    precision = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(policy, policy)
    cells = [
        f"`{name}`", f"{t['generator_steps']:,}", f"{t['wall_seconds']:.0f}", str(precision),
        f"{t['train_images_per_second']:,.0f}", str(cores), f"{s['frechet_distance']:.1f}", f"{s['kid']:.2f}",
        f"{s['precision']:.2f} / {s['recall']:.2f}", str(s["classes_covered"]), conditioning(report), picture,
    ]  # fmt: skip
    return f"| {' | '.join(cells)} |"


def table(evaluate_n: int | None, grids: Path | None) -> str:
    """One table per dataset (each with its own real-data floor), then its grids."""
    shipped = presets.shipped()
    if not shipped:
        sys.exit("no presets are shipped yet: make presets")
    by_dataset: dict[str, list] = {}
    for name, path in shipped.items():
        preset = presets.locate(path)
        by_dataset.setdefault(preset.dataset, []).append((name, preset))
    blocks = [dataset_table(dataset, items, evaluate_n, grids) for dataset, items in by_dataset.items()]
    return "\n\n".join(blocks)


def dataset_table(dataset: str, items: list, evaluate_n: int | None, grids: Path | None) -> str:
    evaluator = None
    lines = [
        f"**{dataset}**",
        "",
        "| preset | G steps | wall s | compute | images/s | cores | Frechet distance | KID"
        " | precision / recall | classes | conditioning | samples |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    floor, gallery = None, []
    for name, preset in items:
        report = preset.card["eval"]
        model = None
        if evaluate_n or grids:
            model = preset.model()
        if evaluate_n:
            from zoo.evaluation.evaluate import Evaluator, evaluate
            from zoo.evaluation.features import extractor_for

            if evaluator is None:
                source = preset.source
                extractor = extractor_for(source.name, image_shape=source.spec.image_shape)
                evaluator = Evaluator(source, extractor, prior=extractor.info.get("class_prior"))
            report = evaluate(model, evaluator, evaluate_n)
        grid_path = None
        if grids:
            grid_path = contract.save_png(grids / f"{name}.png", presets.sample_grid(model), scale=1)
            gallery.append((name, Path(os.path.relpath(grid_path, ROOT)).as_posix()))
        lines.append(row(name, preset.card, report, grid_path))
        floor = report["real_floor"]
    f = floor
    lines.append(
        f"| real-data floor | | | | | | {f['frechet_distance']:.1f} | {f['kid']:.2f} | "
        f"{f['precision']:.2f} / {f['recall']:.2f} | {f['classes_covered']} | | |"
    )
    return "\n".join(lines) + "".join(_gallery(gallery[i : i + 3]) for i in range(0, len(gallery), 3))


def _gallery(pictures: list[tuple[str, str]]) -> str:
    """One small table of up to three grids, each under its preset's name."""
    names = " | ".join(f"`{name}`" for name, _ in pictures)
    shown = " | ".join(f"![{name}]({path})" for name, path in pictures)
    return f"\n\n| {names} |\n|{' --- |' * len(pictures)}\n| {shown} |"


def replace_block(path: Path, text: str) -> None:
    content = path.read_text()
    if BEGIN not in content or END not in content:
        sys.exit(f"{path} has no {BEGIN} ... {END} block")
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluate", type=int, metavar="N", help="measure again on N samples (seed 0)")
    parser.add_argument("--grids", default=str(ROOT / "docs" / "zoo"), help="'' to draw none")
    parser.add_argument("--readme", type=Path, help="write the table into this file's zoo-table block")
    args = parser.parse_args()
    grids = Path(args.grids) if args.grids else None  # Path("") would be the current folder
    text = table(args.evaluate, grids and grids.resolve())
    print(text)
    if args.readme:
        replace_block(args.readme, text)


if __name__ == "__main__":
    main()
