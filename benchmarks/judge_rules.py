"""Which way of asking "is this image good enough?" improves samples without narrowing them.

Fits a fresh judge on a trained GAN's held-out data (into a temporary folder: a preset's
own judge is left alone), then draws `--n` samples plainly, under each rejection rule,
with Metropolis-Hastings, refined by Langevin steps on the judge's logit (`--refine`
steps), and refined then judged by the default rule, and prints `ganzoo eval`'s figures
beside the real-data floor: acceptance on held-out real and generated images (from the
judge's card), acceptance while sampling, seconds per 1,000 samples kept (drawing and
judging only), Frechet distance, KID, precision, recall, classes covered, class KL.

    .venv/bin/python benchmarks/judge_rules.py dcgan-fashion-mnist --n 5000   # about 8 minutes
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
    parser.add_argument("--refine", type=int, default=20, help="Langevin steps of the refine rows")
    parser.add_argument("--step-size", type=float, default=0.01)
    args = parser.parse_args()

    from recipes.trainer import fit_judge
    from zoo import presets
    from zoo.errors import ZooError
    from zoo.evaluation.evaluate import Evaluator
    from zoo.evaluation.features import extractor_for
    from zoo.evaluation.judge import RULES
    from zoo.evaluation.refine import Refinement, refine_inputs

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
    agreement = judge.info.get("agreement", {})
    print(f"held out: AUC {judge.info['auc']:.3f}, ECE {judge.info['ece_after']:.3f}; ranking vs realism: "
          f"Spearman {agreement.get('realism_spearman', float('nan')):.2f}")  # fmt: skip
    header = (f"{'way':<24}{'real acc.':>10}{'gen. acc.':>10}{'sampling':>10}{'s/1000':>8}{'FD':>9}{'KID':>9}"
              f"{'precision':>10}{'recall':>8}{'classes':>8}{'class KL':>9}")  # fmt: skip
    print(header)
    refinement = Refinement(steps=args.refine, step_size=args.step_size)

    def plain():
        return model.generate(args.n, seed=args.seed), None

    def refined():
        inputs = refine_inputs(model, judge, model.sample_inputs(args.n, args.seed), refinement, args.seed)
        return model.generate(args.n, inputs=inputs), None

    unrefined = Refinement(steps=0)  # each rule alone (a critic judge would refine first by default)
    rows = [("none", None, plain)]
    rows += [(rule, rule, lambda rule=rule: judge.filter(model, args.n, args.seed, rule=rule,
                                                         refinement=None if rule == "mh" else unrefined))
             for rule in RULES if rule in judge.rules]  # fmt: skip
    def refined_then_judged():
        return judge.filter(model, args.n, args.seed, rule=judge.rule, refinement=refinement)

    rows += [(f"refine {args.refine}", None, refined),
             (f"refine {args.refine} + {judge.rule}", judge.rule, refined_then_judged)]  # fmt: skip
    for name, rule, draw in rows:
        held = judge.info["acceptance"].get(rule, {}) if rule and not name.startswith("refine") else {}
        began = time.perf_counter()
        try:
            samples, rate = draw()
        except ZooError as e:  # a rule that accepts under 2% of samples cannot fill n in 50 n draws
            print(f"{name:<24}{_pct(held.get('real')):>10}{_pct(held.get('generated')):>10}   ({e})")
            continue
        seconds = (time.perf_counter() - began) * 1000 / args.n
        s = evaluator.report(samples, with_novelty=False)["samples"]
        print(f"{name:<24}{_pct(held.get('real')):>10}{_pct(held.get('generated')):>10}{_pct(rate):>10}"
              f"{seconds:>8.2f}{s['frechet_distance']:>9.2f}{s['kid']:>9.4f}{s['precision']:>10.3f}"
              f"{s['recall']:>8.3f}{s['classes_covered']:>8}{s['class_kl']:>9.4f}", flush=True)  # fmt: skip
    f = floor
    print(f"{'real floor':<62}{f['frechet_distance']:>9.2f}{f['kid']:>9.4f}{f['precision']:>10.3f}"
          f"{floor['recall']:>8.3f}{floor['classes_covered']:>8}{floor['class_kl']:>9.4f}")  # fmt: skip
    print(f"default rule: {judge.rule}; {time.perf_counter() - start:.0f} s")
    return 0


def _pct(value) -> str:
    return "" if value is None else f"{value:.1%}"


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
