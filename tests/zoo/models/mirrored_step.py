"""Run in its own process (logical devices must be set before TensorFlow starts):

    mirrored_step.py VARIANT [--resume]

one training step of a variant on one device and under MirroredStrategy on two logical
CPUs, from the same initial weights and data; with --resume also, mirrored, six steps with
a backup every two, and a run resumed from the backup folder as it was after step 5 (what a
crash there leaves: step 4's backup), against the six steps. Prints the largest differences
as JSON."""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests import helpers  # noqa: E402
from zoo.training.backups import BackupAndRestore  # noqa: E402


def one_step(strategy, variant):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = helpers.tiny(variant, d_steps=1)
    start = [w.numpy().copy() for w in model.weights]
    real, labels = helpers.real_batch(model, n=16)
    data = tf.data.Dataset.from_tensor_slices(real if labels is None else (real, labels)).batch(16)
    history = model.fit(data, epochs=1, verbose=0).history
    return start, [w.numpy() for w in model.weights], {k: v[-1] for k, v in history.items()}


class CopyAfterStep5(keras.callbacks.Callback):
    """Copies the backup folder as it is after step 5: what a crash there would leave."""

    def __init__(self, folder: Path, copy: Path):
        super().__init__()
        self.folder, self.copy = folder, copy

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations.numpy()) == 5:
            shutil.copytree(self.folder, self.copy)


def six_steps(strategy, variant, folder: Path, crashed_copy: Path | None = None):
    """Two epochs of three steps, backed up every two steps into `folder`, as the trainer
    does: the data from the backup's step on, the resumed epoch ended by the backup."""
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = helpers.tiny(variant, d_steps=1)
    real, labels = helpers.real_batch(model, n=16 * 6)
    backup = BackupAndRestore(folder, every=2)
    start = backup.start_step(3)
    pairs = real if labels is None else (real, labels)
    data = tf.data.Dataset.from_tensor_slices(pairs).batch(16).skip(start)
    copier = [CopyAfterStep5(folder, crashed_copy)] if crashed_copy else []
    model.fit(data, epochs=2, steps_per_epoch=3, verbose=0,
              callbacks=[backup, *copier, backup.ends_resumed_epoch])  # fmt: skip
    return [w.numpy() for w in model.weights], int(model.g_optimizer.iterations.numpy()), backup.resumed


variant = sys.argv[1]
start_1, single, logs_1 = one_step(tf.distribute.get_strategy(), variant)
mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
start_2, mirrored, logs_2 = one_step(mirrored_strategy, variant)
resumed_report = {}
if "--resume" in sys.argv:
    with tempfile.TemporaryDirectory() as folder:
        cut = Path(folder) / "cut"
        whole, whole_steps, _ = six_steps(mirrored_strategy, variant, Path(folder) / "whole", cut)
        again, steps, resumed = six_steps(mirrored_strategy, variant, cut)
    resumed_report = {
        "resumed_from": resumed,
        "steps": [whole_steps, steps],
        "resumed_diff": max(float(np.abs(a - b).max()) for a, b in zip(whole, again, strict=True)),
    }
print(
    json.dumps(
        {
            "replicas": 2,
            "same_start": max(float(np.abs(a - b).max()) for a, b in zip(start_1, start_2, strict=True)),
            "weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored, strict=True)),
            "moved": max(float(np.abs(a - b).max()) for a, b in zip(start_1, single, strict=True)),
            "logs_single": logs_1,
            "logs_mirrored": logs_2,
            **resumed_report,
        }
    )
)
