"""Runs a recipe: data, model, `fit` with the standard callbacks, then the run's artifacts.

A run directory holds:
    config.json      the recipe (a rerun with another recipe is refused)
    logs/            TensorBoard: scalars every step, a sample grid every `grid_every` epochs
    backup/          the last backup (every `backup_every` steps and at epoch ends): a rerun with
                     the same directory goes on from its step
    samples/         the grids as PNG
    final.keras      the trained GAN (G, D, optimizers)
    samples.png      a grid from the final generator
    summary.json     steps, wall time, images/s, why it stopped (epochs, time_budget, health or signal)
    export/          SavedModel + ONNX + manifest.json (see export/)
"""

import os
import time
from pathlib import Path

import keras
import numpy as np

import zoo
import zoo.models.variants  # registers the variants for load_model
from recipes import run_options, scale
from recipes.recipe import ClassifierRecipe, Recipe
from recipes.run_options import RunOptions
from zoo import contract, data, multi_worker
from zoo.errors import ZooError
from zoo.evaluation.evaluate import Evaluator
from zoo.files import check_writable, read_json_object, save_keras, write_json
from zoo.models import registry, tricks
from zoo.training import backups, callbacks, preemption

# Fields a rerun may change without making it a different run: its length, and what it logs
# or backs up along the way (the quality evaluations draw their own seeded samples).
_RESUMABLE_CHANGES = {"epochs", "steps_per_epoch", "grid_every", "eval_every", "eval_samples", "description",
                      "backup_every"}  # fmt: skip


# Recipe fields passed to the model when set (None: the variant's default): the game's own
# and every trick's settings.
_MODEL_FIELDS = ("d_steps", "loss", "seed", *(s.name for s in tricks.settings()))


def build_model(
    recipe: Recipe, spec: data.DatasetSpec, jit_compile: bool = False, loss_scale: bool = False
) -> zoo.AdversarialModel:
    """The recipe's GAN for a dataset, compiled with its optimizers.

    Build it inside a strategy's scope to place its variables there; `jit_compile` is XLA
    (`run_options.resolve` decides it), `loss_scale` wraps the optimizers for float16 training.
    """
    variant = registry.variant_class(recipe.variant)
    kwargs = {f: getattr(recipe, f) for f in _MODEL_FIELDS if getattr(recipe, f) is not None}
    kwargs.update(latent_dim=recipe.latent_dim, g_width=recipe.g_width, d_width=recipe.d_width)
    if recipe.variant == "gan":
        kwargs.update(d_dropout=recipe.d_dropout, g_batch_norm=recipe.g_batch_norm)
    if recipe.variant == "acgan":
        kwargs["classify_fakes"] = recipe.classify_fakes
    if variant.conditional:
        if not spec.num_classes:
            raise ZooError(f"{recipe.variant} needs class labels; {recipe.dataset} has none")
        kwargs["num_classes"] = spec.num_classes
        kwargs["class_names"] = spec.class_names or None
    try:
        model = zoo.build(recipe.variant, image_shape=spec.image_shape, **kwargs)
    except ValueError as e:
        raise ZooError(f"recipe {recipe.name}: {e}") from e
    d_optimizer, g_optimizer = _optimizer(recipe, recipe.d_lr), _optimizer(recipe, recipe.g_lr)
    if loss_scale:
        d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
        g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
    model.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, jit_compile=bool(jit_compile))
    return model


def _optimizer(recipe: Recipe, learning_rate: float) -> keras.optimizers.Optimizer:
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=recipe.momentum)
    if recipe.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return keras.optimizers.Adam(learning_rate, beta_1=recipe.beta_1, beta_2=recipe.beta_2)


class _ResumingTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, with step-level scalars numbered by G's optimizer step,
    so a resumed run continues its curves instead of drawing over them."""

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._global_train_batch = int(self.model.g_optimizer.iterations.numpy())


def run(recipe: Recipe | ClassifierRecipe, run_dir: str | os.PathLike, options: RunOptions | None = None,
        **option_values) -> dict:  # fmt: skip
    """Trains a GAN recipe (`train`) or a classifier recipe (`train_classifier`) into `run_dir`.

    `options` (or their values as keywords, `RunOptions`'s fields) say how; an option that
    does not apply to the recipe is refused.
    """
    options = options or RunOptions(**option_values)
    if isinstance(recipe, ClassifierRecipe):
        options.check_applies_to(recipe)  # a GAN recipe's options are checked as they are resolved
        return train_classifier(recipe, run_dir, verbose=options.verbose)
    return train(recipe, run_dir, options)


def train(recipe: Recipe, run_dir: str | os.PathLike, options: RunOptions | None = None,
          **option_values) -> dict:  # fmt: skip
    """Trains `recipe` into `run_dir` (resuming if it was interrupted); returns the summary.

    `options` (or their values as keywords) say how it runs (`recipes.run_options`); they
    are resolved once, before anything is written.
    """
    run_dir = Path(run_dir)
    resolved = run_options.resolve(options or RunOptions(**option_values), recipe)
    _write_or_check_config(recipe, run_dir, write=False)  # another recipe's run: refused first
    source = data.source_of(recipe).prepare()  # bad data is refused before anything is written
    if registry.variant_class(recipe.variant).conditional:
        source.require_labels(recipe.variant)
    _write_or_check_config(recipe, run_dir, write=resolved.chief)
    keras.utils.set_random_seed(recipe.seed)
    if resolved.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()

    origin = provenance()  # the code as training starts, not as it ends
    out = multi_worker.scratch_dir(resolved.distribution, run_dir)  # run_dir, except on the other workers
    try:
        with scale.Precision(resolved.policy):
            summary = _train(recipe, run_dir, out, source, resolved)
    finally:
        multi_worker.discard(resolved.distribution, out, run_dir)
    summary["deterministic"] = resolved.deterministic
    summary["from_preset"] = None if resolved.init_from is None else str(resolved.init_from.path)
    summary.update(origin)
    if resolved.chief:
        write_json(run_dir / "summary.json", summary)
        if resolved.export and summary["stopped_by"] != "signal":  # a signal leaves seconds to stop in
            from export.artifacts import export_trained

            with scale.Precision(resolved.policy):
                export_trained(run_dir, replace=True)
    return summary


def _train(recipe: Recipe, run_dir: Path, out: Path, source: data.Source,
           resolved: run_options.Resolved) -> dict:  # fmt: skip
    """The body of `train`, under the chosen precision policy; writes into `out`, which is
    `run_dir` except on workers other than the chief (a scratch directory they discard)."""
    chief = out == run_dir
    spec = source.spec
    distribution, time_budget = resolved.distribution, resolved.time_budget
    with distribution.scope():
        float16 = resolved.policy == "mixed_float16"
        model = build_model(recipe, spec, jit_compile=resolved.jit, loss_scale=float16)
        if resolved.init_from is not None:  # a resumed run's backup, restored when fit starts, wins
            resolved.init_from.load_weights_into(model)
    images_per_step = model.images_per_step(recipe.batch_size)
    steps_per_epoch = recipe.steps_per_epoch or source.num_examples("train") // images_per_step
    backup = backups.BackupAndRestore(run_dir / "backup", write_dir=out / "backup", every=recipe.backup_every)
    start = backup.start_step(steps_per_epoch)  # a resumed run's data goes on from its backup's step
    dataset = data.training_stream(source, images_per_step, recipe.seed, start=start)

    budget = callbacks.TimeBudget(time_budget) if time_budget else None
    throughput = callbacks.Throughput(images_per_step)
    extractor = _extractor(source)
    health = callbacks.HealthMonitor(
        out / "logs",
        extractor=extractor,
        min_classes=spec.num_classes // 2 if extractor is not None and spec.num_classes else None,
    )
    stop_on_signal = preemption.StopOnSignal(distribution)
    fit_callbacks = [
        # The monitor comes first: on NaN it restores good weights before anything saves them;
        # the backup next: a resumed run's weights are restored before the others start.
        health,
        backup,
        _ResumingTensorBoard(str(out / "logs"), update_freq=1, write_graph=False),
        callbacks.ImageGrid(out / "logs", out / "samples", every=recipe.grid_every),
        throughput,
        *([budget] if budget else []),
        stop_on_signal,
    ]
    if recipe.eval_every and extractor is not None:
        evaluator = Evaluator(source, extractor, prior=extractor.info.get("class_prior"))
        fit_callbacks.append(
            callbacks.QualityEval(evaluator, out / "logs", recipe.eval_every, recipe.eval_samples)
        )
    fit_callbacks.append(backup.ends_resumed_epoch)  # last: every other callback has had its say
    began = time.monotonic()
    try:
        model.fit(dataset, epochs=recipe.epochs, steps_per_epoch=steps_per_epoch, callbacks=fit_callbacks,
                  verbose=resolved.verbose)  # fmt: skip
    except Exception as e:
        lost = multi_worker.lost_worker(distribution, e, backup.saved_step, run_dir / "backup")
        if lost is None:
            raise
        raise lost from e
    finally:
        stop_on_signal.release()  # Keras skips on_train_end when fit raises
    wall = time.monotonic() - began

    save_keras(model, out / "final.keras")
    grid = contract.grid(model.generate(64, seed=recipe.seed), cols=model.grid_columns)
    contract.save_png(out / "samples.png", grid, 2)
    summary = {
        "recipe": recipe.name,
        "generator_steps": int(model.g_optimizer.iterations.numpy()),
        "discriminator_steps": int(model.d_optimizer.iterations.numpy()),
        "wall_seconds": round(wall, 2),
        "train_images_per_second": (
            round(throughput.images_per_second, 1) if throughput.images_per_second else None
        ),
        "stopped_by": _stopped_by(health, stop_on_signal, budget),
        "replicas": distribution.num_replicas_in_sync,
        "workers": multi_worker.worker_count(distribution),
        "worker": multi_worker.worker_name(distribution) or None,
        "chief": chief,  # the worker that wrote the run directory
        "precision": resolved.policy,
        "jit_compile": resolved.jit,
        "resumed_from": backup.resumed,
    }
    if health.stopped:
        summary["health_step"], summary["health_message"] = health.stopped
    if stop_on_signal.stopped_at_step is not None:
        summary["signal"] = stop_on_signal.signal
    if recipe.judge != "none" and chief and summary["stopped_by"] != "signal":  # the run's, not a step
        summary["judge"] = fit_judge(model, source, run_dir, source=recipe.judge,
                                     critic_images=recipe.critic_images).info  # fmt: skip
    return summary


def _stopped_by(health, stop_on_signal, budget) -> str:
    if health.stopped:
        return "health"
    if stop_on_signal.stopped_at_step is not None:
        return "signal"
    return "time_budget" if budget and budget.stopped_at_step else "epochs"


def provenance() -> dict:
    """What trained a run: the project's commit (and whether files had changed) and the machine."""
    import platform
    import subprocess

    root = Path(__file__).resolve().parents[1]
    commit = dirty = None
    try:

        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                                  check=True).stdout.strip()  # fmt: skip

        commit, dirty = git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an installed package)
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    machine = {"cpu": cpu, "cores": os.cpu_count(), "cores_used": len(os.sched_getaffinity(0)),
               "system": platform.system()}  # fmt: skip
    return {"commit": commit, "dirty": dirty, "machine": machine}


def _extractor(source: data.Source):
    """The shipped classifier for the source's images, or None where none is shipped."""
    from zoo.evaluation.features import shipped_classifier

    return shipped_classifier(source.name, source.spec.image_shape)


# Training images the critic judge learns from, against as many samples (a recipe's
# `critic_images`): on the DCGAN preset, 20,000 (5 epochs, 150 s on one core) gave a held-out
# AUC of 0.97 where 2,500 held-out images gave 0.60 and the trained D 0.69 (docs/judge.md).
CRITIC_IMAGES = 20_000


def fit_judge(
    model: zoo.AdversarialModel,
    dataset: "str | data.Source",
    run_dir: str | os.PathLike,
    source: str = "discriminator",
    target_precision: float = 0.9,
    rule: str | None = None,
    folder: str | os.PathLike | None = None,
    critic_images: int = CRITIC_IMAGES,
):
    """Builds, calibrates and saves the run's judge (run_dir/judge/, or `folder`) on held-out
    real images.

    The test split's half A is the metrics' reference; the judge is calibrated on half B
    against fresh samples. The critic trains on `critic_images` training images against as
    many samples (where the source has no split apart from its training images: on half of
    half B, calibrated on the other half). Each image's
    class, for the class rules, is its label for a conditional GAN (the true label of a real
    image) and otherwise what the dataset's shipped classifier predicts (for real and
    generated images alike, so both are classed the same way).
    """
    from zoo.evaluation import distances
    from zoo.evaluation.evaluate import real_test_images
    from zoo.evaluation.judge import DEFAULT_REFINEMENT, Judge, agreement

    dataset = dataset if isinstance(dataset, data.Source) else data.source(dataset)
    real, labels = real_test_images(dataset, labels=True)
    held_out, held_out_labels = real[len(real) // 2 :], labels[len(real) // 2 :]
    if source == "discriminator" and [t.name for t in model.discriminator.inputs] != ["image"]:
        source = "critic"  # a D that needs labels cannot judge images alone
    if source == "critic" and dataset.reference_split != "train":
        train = data.real_images(dataset, "train", seed=1, limit=critic_images)
        judge = Judge.train_critic(model, train)
        calibration, calibration_labels = held_out, held_out_labels
    elif source == "critic":
        judge = Judge.train_critic(model, held_out[: len(held_out) // 2])
        calibration, calibration_labels = (
            held_out[len(held_out) // 2 :],
            held_out_labels[len(held_out) // 2 :],
        )
    else:
        judge = Judge.from_discriminator(model)
        calibration, calibration_labels = held_out, held_out_labels
    inputs = model.sample_inputs(len(calibration), seed=777)
    fake = model.generate(len(calibration), inputs=inputs)
    classifier = _extractor(dataset)  # classes for the class rules; features for the realism score
    if model.num_classes:
        classes_from, real_classes, fake_classes = "label", calibration_labels, inputs["label"]
        num_classes = model.num_classes
    elif classifier is not None:
        judge.classifier, judge.info["classes_from"] = classifier.network, "classifier"
        classes_from, num_classes = "classifier", int(classifier.info.get("num_classes", 10))
        real_classes, fake_classes = judge.classes(calibration), judge.classes(fake)
    else:
        classes_from = real_classes = fake_classes = num_classes = None
    judge.info["dataset"] = dataset.name
    judge.calibrate(calibration, fake, target_precision, real_classes, fake_classes, num_classes,
                    classes_from, rule)  # fmt: skip
    if classes_from != "label":  # refine, then judge (not a conditional GAN's: LABELLED_DEFAULT_RULE)
        judge.info["refinement"] = DEFAULT_REFINEMENT.get(judge.info["source"])
    if classifier is not None:  # the judge's ranking against the realism score
        reference, _ = classifier(real[: len(real) // 2])  # half A: what neither the judge nor G saw
        realism = distances.realism_scores(reference, classifier(fake)[0])
        judge.info["agreement"] = agreement(judge.calibrated_logits(fake), realism)
    judge.save(Path(folder) if folder is not None else Path(run_dir) / "judge")
    return judge


def _write_or_check_config(recipe: Recipe, run_dir: Path, write: bool = True) -> None:
    """Refuses a run directory of another recipe; writes the recipe there when `write`."""
    path = run_dir / "config.json"
    config = recipe.to_dict()
    if path.exists():
        previous = type(recipe).from_dict(read_config(run_dir)).to_dict()  # fields added since: defaults
        changed = sorted(
            k
            for k in set(config) | set(previous)
            if k not in _RESUMABLE_CHANGES and config.get(k) != previous.get(k)
        )
        if changed:
            raise ZooError(
                f"{run_dir} holds a run of another recipe (differs in {', '.join(changed)}); "
                "choose another --run-dir"
            )
    if write:
        check_writable(run_dir, "choose another --run-dir, or make this one writable")
        write_json(path, config)


def read_config(run_dir: str | os.PathLike) -> dict:
    """A run's config.json, checked to be a recipe this version knows (no unknown keys)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ZooError(f"{run_dir} has no config.json; is it a run directory?")
    config = read_json_object(path, "restore it or train a new run", "recipe (a JSON object)")
    return check_config(config, path)


def check_config(config: dict, path: Path) -> dict:
    """`config` (read from `path`), checked to be a recipe this version knows."""
    kind = Recipe if "variant" in config else ClassifierRecipe
    try:
        kind.from_dict(config)
    except ZooError as e:
        raise ZooError(f"{path}: {e}; restore it or train a new run") from e
    except TypeError as e:  # a missing or mistyped field
        raise ZooError(f"{path} is not a complete recipe ({e}); restore it or train a new run") from e
    return config


def train_classifier(recipe, run_dir: str | os.PathLike, verbose: str | int = "auto") -> dict:
    """Trains the domain classifier the quality metrics use; returns its test accuracy.

    Writes `classifier.weights.h5` and `classifier.json` (accuracy, class prior, the
    command) into `run_dir`; the files the package ships under zoo/evaluation/weights/
    are copies of these.
    """
    import tensorflow as tf

    from zoo.evaluation.features import classifier_network

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", recipe.to_dict())
    keras.utils.set_random_seed(recipe.seed)
    source = data.source(recipe.dataset)
    spec = source.spec
    if not spec.num_classes:
        raise ZooError(f"{recipe.dataset} has no class labels to train a classifier on")
    if source.reference_split != "train":
        train_set = data.load(source, "train", recipe.batch_size, seed=recipe.seed)
        test_set = data.load(source, source.reference_split, 1000, shuffle=False, drop_remainder=False)
        held_out = source.reference_split
    else:  # no test split (a folder, an array): every 10th image is held out for the accuracy
        n, pairs = source.num_examples("train"), source.images("train").enumerate()
        keep = lambda test: lambda i, _: tf.equal(i % 10 == 0, test)  # noqa: E731
        unindex = lambda _, pair: pair  # noqa: E731
        train_set = data.batches(pairs.filter(keep(False)).map(unindex), n - (n + 9) // 10, recipe.batch_size,
                                 seed=recipe.seed)  # fmt: skip
        test_set = data.batches(pairs.filter(keep(True)).map(unindex), (n + 9) // 10, 1000, shuffle=False,
                                drop_remainder=False)  # fmt: skip
        held_out = "every 10th training image"
    network = classifier_network(spec.image_shape, spec.num_classes)
    network.compile(
        optimizer=keras.optimizers.Adam(recipe.lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    network.fit(
        train_set,
        epochs=recipe.epochs,
        validation_data=test_set,
        callbacks=[keras.callbacks.TensorBoard(str(run_dir / "logs"), write_graph=False)],
        verbose=verbose,
    )
    _, accuracy = network.evaluate(test_set, verbose=0)
    labels = np.concatenate([y.numpy() for _, y in data.load(source, "train", 10_000, shuffle=False,
                                                            drop_remainder=False)])  # fmt: skip
    prior = np.bincount(labels, minlength=spec.num_classes) / len(labels)
    tmp = run_dir / ".classifier.tmp.weights.h5"
    bare = classifier_network(spec.image_shape, spec.num_classes)  # uncompiled: no optimizer state saved
    bare.set_weights(network.get_weights())
    bare.save_weights(tmp)
    os.replace(tmp, run_dir / "classifier.weights.h5")
    info = {
        "dataset": recipe.dataset,
        "image_shape": list(spec.image_shape),
        "num_classes": spec.num_classes,
        "class_names": list(spec.class_names),
        "test_accuracy": round(float(accuracy), 4),
        "accuracy_on": held_out,
        "class_prior": prior.round(6).tolist(),
        "epochs": recipe.epochs,
        "command": f"ganzoo train {recipe.name} --run-dir {run_dir}",
    }
    write_json(run_dir / "classifier.json", info)
    return info
