"""Callbacks that make training watchable and bounded: grids, time budget, throughput, health,
quality (backups are `zoo.training.backups`, a stop on a signal `zoo.training.preemption`)."""

import logging
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import contract, multi_worker


class ImageGrid(keras.callbacks.Callback):
    """Every `every` epochs, draws G's samples from one fixed z to TensorBoard and a PNG.

    Fixed inputs make successive grids comparable: the same noise, a better generator.

    Args:
        log_dir: TensorBoard directory; the grid goes to `log_dir/images`.
        png_dir: where `epoch_0001.png`, ... are written; None for no PNGs.
        n: number of samples in the grid.
        seed: seed of the fixed inputs.
        every: epoch interval.
    """

    def __init__(self, log_dir, png_dir=None, n: int = 64, seed: int = 0, every: int = 1):
        super().__init__()
        self.log_dir = str(log_dir)
        self.png_dir = Path(png_dir) if png_dir else None
        self.n, self.seed, self.every = n, seed, every
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        picture = contract.grid(self.model.generate(self.n, seed=self.seed), cols=self.model.grid_columns)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(f"{self.log_dir}/images")
        with self._writer.as_default():
            tf.summary.image("samples/fixed_z", picture[None], step=epoch + 1)
        self._writer.flush()
        if self.png_dir is not None:
            contract.save_png(self.png_dir / f"epoch_{epoch + 1:04d}.png", picture, scale=2)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the first step that ends past `seconds` of wall time.

    Keras finishes the epoch's bookkeeping (on_epoch_end, checkpoints, grids), so a
    stopped run writes everything a finished one writes. On several workers, all stop at
    the first step that ends past the budget on any of them.
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = float(seconds)
        self.stopped_at_step: int | None = None

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()
        self._steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        over = time.monotonic() - self._start >= self.seconds
        if multi_worker.any_worker(self.model.distribute_strategy, over):
            self.model.stop_training = True
            self.stopped_at_step = self._steps


class Throughput(keras.callbacks.Callback):
    """Measures images/s of training steps (after the first, which traces and compiles)."""

    def __init__(self, images_per_step: int):
        super().__init__()
        self.images_per_step = images_per_step
        self.images_per_second: float | None = None  # None until two steps have run

    def on_train_begin(self, logs=None):
        self._steps, self._start = 0, None

    def on_train_batch_end(self, batch, logs=None):
        if self._start is None:
            self._start = time.perf_counter()
            return
        self._steps += 1

    def on_train_end(self, logs=None):
        if self._start is not None and self._steps:
            elapsed = time.perf_counter() - self._start
            self.images_per_second = self._steps * self.images_per_step / elapsed


class HealthMonitor(keras.callbacks.Callback):
    """Watches the step metrics and says when training goes wrong, in the log and TensorBoard.

    - NaN or Inf in any reported value, or divergence (a loss beyond `divergence_factor`
      times its running typical size): stops training and restores the weights and
      optimizer state of the last healthy snapshot (taken every `snapshot_every` steps).
    - The discriminator winning: D(G(z)) below `d_fake_floor` while G's gradient norm is
      below `g_grad_floor`, for `patience` steps (only where D reports probabilities).
    - Mode collapse: every `every_epochs`, the diversity of samples from fixed inputs
      (mean pairwise distance, in the extractor's feature space when given, else in
      pixels) falls below `collapse_ratio` of its best value so far, or (with an
      extractor) fewer than `min_classes` classes appear.

    Events are kept in `events` as (step, kind, message); after a stop, `stopped` holds the
    (step, message) that stopped training.
    """

    def __init__(
        self,
        log_dir=None,
        snapshot_every: int = 100,
        divergence_factor: float = 25.0,
        divergence_floor: float = 10.0,
        warmup_steps: int = 50,
        d_fake_floor: float = 0.05,
        g_grad_floor: float = 0.1,
        patience: int = 50,
        collapse_ratio: float = 0.5,
        min_classes: int | None = None,
        every_epochs: int = 1,
        samples: int = 256,
        extractor=None,
    ):
        super().__init__()
        self.log_dir = log_dir
        self.snapshot_every, self.warmup_steps, self.patience = snapshot_every, warmup_steps, patience
        self.divergence_factor, self.divergence_floor = divergence_factor, divergence_floor
        self.d_fake_floor, self.g_grad_floor = d_fake_floor, g_grad_floor
        self.collapse_ratio, self.min_classes = collapse_ratio, min_classes
        self.every_epochs, self.samples, self.extractor = every_epochs, samples, extractor
        self.events: list[tuple[int, str, str]] = []
        self.stopped: tuple[int, str] | None = None
        self._writer = None

    # === Reporting ===

    def _say(self, kind: str, message: str) -> None:
        step = self._step
        self.events.append((step, kind, message))
        logging.getLogger("zoo.health").warning("step %d: %s", step, message)
        print(f"[health] step {step}: {message}", flush=True)
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(f"{self.log_dir}/health")
            with self._writer.as_default():
                tf.summary.text(f"health/{kind}", message, step=step)
            self._writer.flush()

    # === Snapshots ===

    def _optimizers(self) -> list:
        return [
            o
            for o in (getattr(self.model, "d_optimizer", None), getattr(self.model, "g_optimizer", None))
            if o
        ]

    def _snapshot(self):
        model = self.model
        self._good = (
            self._step,
            [w.numpy() for w in model.weights],
            [[v.numpy() for v in o.variables] for o in self._optimizers()],
        )

    def _restore_and_stop(self, kind: str, message: str) -> None:
        step, weights, optimizer_state = self._good
        model = self.model
        for variable, value in zip(model.weights, weights, strict=True):
            variable.assign(value)
        for optimizer, values in zip(self._optimizers(), optimizer_state, strict=True):
            for variable, value in zip(optimizer.variables, values, strict=True):
                variable.assign(value)
        model.stop_training = True
        message = f"{message}; restored the weights of step {step} and stopped"
        self.stopped = (self._step, message)
        self._say(kind, message)

    # === Hooks ===

    def on_train_begin(self, logs=None):
        self._means, self._typical, self._winning, self._best_diversity = {}, {}, 0, None
        self._probabilities = type(self.model).score is _probability_score()
        self._good, self.stopped = None, None

    def on_epoch_begin(self, epoch, logs=None):
        self._means = {}  # Keras' running means restart every epoch
        if self._good is None:
            # Here, not in on_train_begin: a resumed run's weights are restored by then.
            self._step = (
                int(self.model.g_optimizer.iterations.numpy()) if hasattr(self.model, "g_optimizer") else 0
            )
            self._snapshot()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        values = self._step_values(batch, logs or {})
        # A loss first: it names what went wrong; the gradient norms and scores follow from it.
        bad = [k for k, v in values.items() if not np.isfinite(v)]
        bad.sort(key=lambda k: not k.endswith("loss"))
        if bad:
            self._restore_and_stop("nan", f"{bad[0]} is {values[bad[0]]} at step {self._step}")
            return
        for name in ("d_loss", "g_loss"):
            if name in values and self._diverged(name, values[name]):
                typical = self._typical[name]
                self._restore_and_stop(
                    "divergence", f"{name} diverged to {values[name]:.4g} (typical {typical:.3g})"
                )
                return
        if self._probabilities and "d_fake" in values and "g_grad_norm" in values:
            losing = values["d_fake"] < self.d_fake_floor and values["g_grad_norm"] < self.g_grad_floor
            self._winning = self._winning + 1 if losing else 0
            if self._winning == self.patience:
                self._say(
                    "discriminator_winning",
                    f"the discriminator is winning: D(G(z)) = {values['d_fake']:.3g} and |grad G| = "
                    f"{values['g_grad_norm']:.3g} for {self.patience} steps; try the non-saturating loss, "
                    "label smoothing, instance noise or a lower d_lr",
                )
        if self._step % self.snapshot_every == 0:
            self._snapshot()

    def _step_values(self, batch: int, logs: dict) -> dict[str, float]:
        """This step's values, recovered from Keras' running epoch means."""
        values = {}
        for name, mean in logs.items():
            mean = float(mean)
            previous = self._means.get(name)
            values[name] = mean if previous is None or batch == 0 else (batch + 1) * mean - batch * previous
            self._means[name] = mean
        return values

    def _diverged(self, name: str, value: float) -> bool:
        typical = self._typical.get(name)
        size = abs(value)
        self._typical[name] = size if typical is None else 0.98 * typical + 0.02 * size
        if typical is None or self._step < self.warmup_steps:
            return False
        return size > self.divergence_floor and size > self.divergence_factor * max(typical, 1e-3)

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped or (epoch + 1) % self.every_epochs:
            return
        samples = self.model.generate(self.samples, seed=0)
        if self.extractor is not None:
            points, logits = self.extractor(samples)
        else:
            points, logits = samples.reshape(len(samples), -1), None
        diversity = _mean_pairwise_distance(points)
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(f"{self.log_dir}/health")
            with self._writer.as_default():
                tf.summary.scalar("health/sample_diversity", diversity, step=self._step)
        best = self._best_diversity
        if best is not None and diversity < self.collapse_ratio * best:
            self._say(
                "mode_collapse",
                f"mode collapse: sample diversity fell to {diversity:.3g} from {best:.3g} "
                f"(below {self.collapse_ratio:.0%})",
            )
        self._best_diversity = diversity if best is None else max(best, diversity)
        if logits is not None and self.min_classes:
            covered = len(np.unique(np.argmax(logits, axis=1)))
            if covered < self.min_classes:
                self._say("mode_collapse", f"mode collapse: samples fall in {covered} classes only")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _probability_score():
    from zoo.models.adversarial import AdversarialModel

    return AdversarialModel.score


def _mean_pairwise_distance(points: np.ndarray) -> float:
    points = np.asarray(points, np.float64)
    sq = np.sum(points**2, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * points @ points.T, 0)
    n = len(points)
    return float(np.sqrt(d2).sum() / (n * (n - 1)))


class QualityEval(keras.callbacks.Callback):
    """Every `every` epochs, logs the quality metrics of `n` samples to TensorBoard, with the
    real-data floor logged once beside them (`quality/...` and `quality_floor/...`).

    Args:
        evaluator: a `zoo.evaluation.evaluate.Evaluator` for the training dataset.
        log_dir: TensorBoard directory; the figures go to `log_dir/quality`.
    """

    def __init__(self, evaluator, log_dir, every: int = 1, n: int = 2000):
        super().__init__()
        self.evaluator, self.log_dir, self.every, self.n = evaluator, str(log_dir), every, n
        self.history: list[dict] = []

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(f"{self.log_dir}/quality")
        with self._writer.as_default():
            for name, value in self.evaluator.floor().items():
                if np.isscalar(value):
                    tf.summary.scalar(f"quality_floor/{name}", value, step=0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        figures = self.evaluator(self.model.generate(self.n, seed=0))
        step = int(self.model.g_optimizer.iterations.numpy())
        self.history.append({"epoch": epoch + 1, "step": step, **figures})
        with self._writer.as_default():
            for name, value in figures.items():
                if np.isscalar(value):
                    tf.summary.scalar(f"quality/{name}", value, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        self._writer.close()
