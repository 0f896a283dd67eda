"""A trained run becomes a preset: its networks in float16, its recipe, and a card that says
how it was trained and what `ganzoo eval` measures on the weights that ship."""

import time
from pathlib import Path

from zoo import presets
from zoo.files import read_json_object

# A small evaluation stored on every card beside the full one: the tests repeat it to check
# that a preset still reproduces its figures (same weights and seeds, same numbers).
CHECK_SAMPLES, CHECK_SEED, CHECK_PER_CODE = 500, 1, 100

_TRAINING = ("generator_steps", "discriminator_steps", "wall_seconds", "train_images_per_second",
             "stopped_by", "precision", "replicas", "deterministic", "from_preset")  # fmt: skip


def save_run_as_preset(
    run: presets.Trained,
    out_dir: str | Path,
    n: int = 10_000,
    command: str | None = None,
    replace: bool = False,
) -> presets.Trained:
    """Writes the run's GAN and judge to `out_dir` as a preset whose card holds the run's
    training figures and `ganzoo eval` on `n` samples (seed 0) of the float16 weights."""
    summary = read_json_object(run.path / "summary.json", "the run did not finish; train it again")
    name = run.config["name"]
    card = {
        "recipe": name,
        "variant": run.config["variant"],
        "dataset": run.dataset,
        "command": command or f"ganzoo train {name} --run-dir {run.path}",
        "eval_command": f"ganzoo eval {Path(out_dir).name} --n {n}",
        "commit": summary.get("commit"),
        "dirty": summary.get("dirty"),
        "machine": summary.get("machine"),
        "training": {key: summary.get(key) for key in _TRAINING},
        "weights_dtype": "float16",
    }

    model = _named(run.model(), run)
    return presets.save_preset(model, out_dir, run.config, run.judge_dir, card, _measure(n), replace)


def _named(model, trained: presets.Trained):
    """`model` with its dataset's class names, where it is conditional and was trained before
    models kept them."""
    if model.num_classes and not model.class_names:
        model.class_names = trained.source.class_names or None
    return model


def _measure(n: int):
    """What a card says of the weights that ship: `ganzoo eval` on n samples (seed 0) and the
    small check the tests repeat."""
    from zoo.evaluation.evaluate import Evaluator, evaluate
    from zoo.evaluation.features import extractor_for

    def measure(preset: presets.Trained) -> dict:
        model = preset.model()
        source = preset.source
        extractor = extractor_for(source.name, image_shape=source.spec.image_shape)
        evaluator = Evaluator(source, extractor, prior=extractor.info.get("class_prior"))
        return {
            "eval": evaluate(model, evaluator, n, seed=0),
            "check": evaluate(
                model, evaluator, CHECK_SAMPLES, CHECK_SEED, consistency_per_code=CHECK_PER_CODE
            ),
        }

    return measure


def remeasure(preset: presets.Trained, n: int = 10_000) -> presets.Trained:
    """Measures a preset's card again on its own weights (after the way samples are drawn
    changed), giving a conditional model its dataset's class names where it lacks them; how it
    was trained stays on the card. The preset is rewritten whole and swapped in when complete."""
    from recipes.trainer import provenance

    model = _named(preset.model(), preset)
    card = {k: v for k, v in (preset.card or {}).items() if k not in ("eval", "check", "name")}
    card["remeasured"] = {"commit": provenance().get("commit"), "date": time.strftime("%Y-%m-%d")}
    judge_dir = preset.judge_dir if preset.judge_dir.is_dir() else None
    return presets.save_preset(model, preset.path, preset.config, judge_dir, card, _measure(n), replace=True)


def refit_judge(preset: presets.Trained, source: str | None = None, target_precision: float = 0.9,
                rule: str | None = None, critic_images: int | None = None):  # fmt: skip
    """Fits a preset's judge again (e.g. after the judge gained rules) and rewrites the
    sha256 its metadata lists; returns the judge. The new judge is written beside the old
    and swapped in only when complete."""
    from recipes.trainer import fit_judge
    from zoo.files import staged_folder

    old = preset.judge()
    source = source or (old.info.get("source") if old else "discriminator")
    sized = {"critic_images": critic_images} if critic_images else {}
    with staged_folder(preset.judge_dir, replace=True) as staging:
        judge = fit_judge(preset.model(), preset.source, preset.path, source, target_precision, rule,
                          folder=staging, **sized)  # fmt: skip
    presets.rehash(preset)  # the judge's files were rewritten on purpose
    return judge
