"""Which judge rule answers "is this image good enough?" without narrowing the distribution.

Fits a fresh judge on a trained GAN's held-out data (into a temporary folder: a preset's
own judge is left alone), then, for no filter and for each rule, draws `--n` samples,
keeps what the rule accepts, and prints `ganzoo eval`'s figures beside the real-data floor:
acceptance on held-out real and generated images (from the judge's card), acceptance while
sampling, Frechet distance, KID, precision, recall, classes covered.

    .venv/bin/python benchmarks/judge_rules.py dcgan-fashion-mnist --n 5000   # about 4 minutes
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "trained", nargs="?", default="dcgan-fashion-mnist", help="a run, preset or preset name"
    )
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=["discriminator", "critic"], help="default: the trained judge's")
    args = parser.parse_args()

    from recipes.trainer import fit_judge
    from zoo import presets
    from zoo.errors import ZooError
    from zoo.evaluation.evaluate import Evaluator, evaluate
    from zoo.evaluation.features import extractor_for
    from zoo.evaluation.judge import RULES

    trained = presets.locate(args.trained)
    model = trained.model()
    shipped = trained.judge()
    source = args.source or (shipped.info.get("source") if shipped else "discriminator")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        judge = fit_judge(model, trained.dataset, folder, source=source)
    extractor = extractor_for(trained.dataset)
    evaluator = Evaluator(trained.dataset, extractor, prior=extractor.info.get("class_prior"))
    floor = evaluator.floor()
    print(f"{trained.name}: {source} judge, temperature {judge.temperature:.3g}, bias {judge.bias:.3g}, "
          f"classes from {judge.classes_from}; n = {args.n}, seed {args.seed}")  # fmt: skip
    header = (f"{'rule':<20}{'real acc.':>10}{'gen. acc.':>10}{'sampling':>10}{'FD':>9}{'KID':>9}"
              f"{'precision':>10}{'recall':>8}{'classes':>8}{'class KL':>9}")  # fmt: skip
    print(header)
    rows = [("none", None)] + [(rule, rule) for rule in RULES if rule in judge.rules]
    for name, rule in rows:
        held = judge.info["acceptance"].get(rule, {}) if rule else {}
        try:
            report = evaluate(model, evaluator, args.n, args.seed, judge if rule else None, rule=rule)
        except ZooError as e:  # a rule that accepts under 2% of samples cannot fill n in 50 n draws
            print(f"{name:<20}{_pct(held.get('real')):>10}{_pct(held.get('generated')):>10}   ({e})")
            continue
        s = report["samples"]
        rate = report["acceptance_rate"]
        print(f"{name:<20}{_pct(held.get('real')):>10}{_pct(held.get('generated')):>10}{_pct(rate):>10}"
              f"{s['frechet_distance']:>9.2f}{s['kid']:>9.4f}{s['precision']:>10.3f}{s['recall']:>8.3f}"
              f"{s['classes_covered']:>8}{s['class_kl']:>9.4f}", flush=True)  # fmt: skip
    f = floor
    print(f"{'real floor':<50}{f['frechet_distance']:>9.2f}{f['kid']:>9.4f}{f['precision']:>10.3f}"
          f"{floor['recall']:>8.3f}{floor['classes_covered']:>8}{floor['class_kl']:>9.4f}")  # fmt: skip
    print(f"default rule: {judge.rule}; {time.perf_counter() - start:.0f} s")
    return 0


def _pct(value) -> str:
    return "" if value is None else f"{value:.1%}"


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
