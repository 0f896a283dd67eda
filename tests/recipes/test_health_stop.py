"""A NaN in a loss stops training, restores the last good weights, and the run says so."""

import json

import keras
import numpy as np
import tensorflow as tf

from recipes.cli import main
from tests import helpers
from zoo import data
from zoo.presets import locate
from zoo.training import callbacks


class WeightsPerStep(keras.callbacks.Callback):
    """Copies the weights after every step, keyed by G's step count."""

    def __init__(self):
        super().__init__()
        self.by_step = {}

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.g_optimizer.iterations)
        self.by_step[step] = [w.numpy().copy() for w in self.model.weights]


def test_a_nan_batch_stops_fit_and_restores_the_snapshot():
    model = helpers.tiny("dcgan")
    real, _ = helpers.real_batch(model, n=16 * 8)
    real[16 * 4 : 16 * 5] = np.nan  # the fifth step's batch
    monitor, recorder = callbacks.HealthMonitor(snapshot_every=3), WeightsPerStep()
    history = model.fit(
        real, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=[monitor, recorder]
    )

    assert model.stop_training and len(history.history["d_loss"]) == 1  # no further epoch
    step, message = monitor.stopped
    assert step == 5 and message.startswith("d_loss is nan at step 5")
    assert "restored the weights of step 3" in message
    assert [e[:2] for e in monitor.events] == [(5, "nan")]
    assert int(model.g_optimizer.iterations) == 3  # the optimizer state went back too
    for w, good in zip(model.weights, recorder.by_step[3], strict=True):
        assert np.isfinite(w.numpy()).all()
        np.testing.assert_array_equal(w.numpy(), good)
    assert not np.array_equal(recorder.by_step[3][0], recorder.by_step[4][0])  # step 4 did move them


def test_a_run_stopped_by_health_says_so(tmp_path, fashion_mnist_dir, monkeypatch, capsys):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    load = data.training_stream

    def poisoned(*args, **kwargs):
        """The real batches, but the third is NaN."""
        dataset = load(*args, **kwargs)
        return dataset.enumerate().map(
            lambda i, pair: (tf.where(i == 2, np.float32(np.nan), pair[0]), pair[1])
        )

    monkeypatch.setattr(data, "training_stream", poisoned)
    run = tmp_path / "run"
    argv = ["train", "--epochs", "2", "--steps-per-epoch", "4", "--batch-size", "16", "--set", "g_width=8",
            "--set", "d_width=8", "--set", "judge=none", "--no-export", "--run-dir", str(run)]  # fmt: skip
    assert main(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.endswith("stopped by health at step 3: d_loss is nan at step 3; restored the weights of "
                         "step 0 and stopped")  # fmt: skip

    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped_by"] == "health" and summary["health_step"] == 3
    assert summary["health_message"].startswith("d_loss is nan at step 3")
    assert summary["generator_steps"] == 0
    model = locate(run).model()
    assert all(np.isfinite(np.asarray(w)).all() for w in model.weights)
