"""Callbacks that make training watchable and bounded: image grids and a time budget."""

import time
from pathlib import Path

import keras
import tensorflow as tf

from zoo import images


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
        picture = images.grid(self.model.generate(self.n, seed=self.seed))
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(f"{self.log_dir}/images")
        with self._writer.as_default():
            tf.summary.image("samples/fixed_z", picture[None], step=epoch + 1)
        self._writer.flush()
        if self.png_dir is not None:
            images.save_png(self.png_dir / f"epoch_{epoch + 1:04d}.png", picture, scale=2)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the first step that ends past `seconds` of wall time.

    Keras finishes the epoch's bookkeeping (on_epoch_end, checkpoints, grids), so a
    stopped run writes everything a finished one writes.
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
        if time.monotonic() - self._start >= self.seconds:
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
