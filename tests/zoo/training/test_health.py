"""The training-health monitor: fires on synthetic trouble and a broken setup, quiet on a healthy run."""

import keras
import numpy as np
import pytest

from tests import helpers
from zoo.training.callbacks import HealthMonitor


def attach(monitor, model):
    monitor.set_model(model)
    monitor.on_train_begin()
    monitor.on_epoch_begin(0)
    return monitor


def feed_steps(monitor, rows):
    """Feeds per-step values the way Keras reports them: running means over the epoch."""
    sums = {}
    for batch, row in enumerate(rows):
        for k, v in row.items():
            sums[k] = sums.get(k, 0.0) + v
        monitor.on_train_batch_end(batch, {k: s / (batch + 1) for k, s in sums.items()})
        if monitor.model.stop_training:
            break


HEALTHY = {"d_loss": 1.2, "g_loss": 0.9, "d_real": 0.6, "d_fake": 0.4, "d_grad_norm": 2.0, "g_grad_norm": 1.5}


def test_nan_stops_restores_and_names_the_step_and_loss():
    model = helpers.tiny("dcgan")
    monitor = attach(HealthMonitor(snapshot_every=3), model)
    feed_steps(monitor, [HEALTHY] * 4)  # snapshot at step 3
    good = [w.numpy().copy() for w in model.weights]
    for w in model.generator.trainable_variables:  # what a NaN update does
        w.assign(np.full(w.shape, np.nan, np.float32))
    monitor._means = {}
    feed_steps(monitor, [{**HEALTHY, "g_loss": float("nan")}])
    assert model.stop_training
    (step, kind, message), *_ = monitor.events
    assert step == 5 and kind == "nan"
    assert "g_loss is nan at step 5" in message and "weights of step 3" in message
    for w, g in zip(model.weights, good, strict=True):
        np.testing.assert_array_equal(w.numpy(), g)


def test_divergence_is_caught_after_warmup():
    model = helpers.tiny("dcgan")
    monitor = attach(HealthMonitor(warmup_steps=20), model)
    feed_steps(monitor, [HEALTHY] * 30 + [{**HEALTHY, "d_loss": 400.0}])
    assert model.stop_training and monitor.events[0][1] == "divergence"
    assert "d_loss diverged to 400" in monitor.events[0][2]


def test_discriminator_winning_needs_both_signs_for_patience_steps():
    model = helpers.tiny("dcgan")
    monitor = attach(HealthMonitor(patience=10), model)
    winning = {**HEALTHY, "d_fake": 0.01, "g_grad_norm": 1e-3}
    feed_steps(monitor, [winning] * 9 + [HEALTHY] + [{**HEALTHY, "d_fake": 0.01}] * 20)
    assert monitor.events == []  # interrupted, or G still has gradient
    feed_steps(monitor, [winning] * 10)
    assert [e[1] for e in monitor.events] == ["discriminator_winning"]
    assert not model.stop_training  # a warning, not a stop


def test_winning_check_skips_critics_without_probabilities():
    model = helpers.tiny("wgan")
    monitor = attach(HealthMonitor(patience=5), model)
    feed_steps(monitor, [{**HEALTHY, "d_fake": -3.0, "g_grad_norm": 1e-4}] * 20)
    assert monitor.events == []


def test_mode_collapse_when_diversity_falls(monkeypatch):
    model = helpers.tiny("dcgan")
    monitor = attach(HealthMonitor(), model)
    monitor.on_epoch_end(0)  # diverse fresh samples set the reference
    varied = model.generate(256)
    monkeypatch.setattr(
        model, "generate", lambda n, seed=0: np.repeat(varied[:1], n, axis=0) + 0.01 * varied[:n]
    )
    monitor.on_epoch_end(1)
    assert [e[1] for e in monitor.events] == ["mode_collapse"]


def test_a_diverging_learning_rate_is_stopped_and_reported():
    model = helpers.tiny("dcgan")
    model.compile(d_optimizer=keras.optimizers.SGD(1e4), g_optimizer=keras.optimizers.SGD(1e4))
    monitor = HealthMonitor(warmup_steps=2, snapshot_every=1)
    real, _ = helpers.real_batch(model, n=16 * 40)
    model.fit(real, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.events and monitor.events[0][1] in ("nan", "divergence")
    assert monitor.events[0][0] < 40  # stopped early
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)  # the restored state is healthy


@pytest.mark.parametrize("variant", ["dcgan", "wgan-gp"])
def test_a_healthy_run_stays_quiet(variant):
    model = helpers.tiny(variant)
    monitor = HealthMonitor(warmup_steps=5, patience=5)
    real, labels = helpers.real_batch(model, n=16 * model.d_steps * 20)
    model.fit(real, labels, batch_size=16 * model.d_steps, epochs=2, verbose=0, callbacks=[monitor])
    assert monitor.events == [] and not model.stop_training


def test_mode_collapse_when_classes_disappear_even_from_the_first_check():
    class OneClass:
        """An extractor for which every sample looks like class 3."""

        def __call__(self, images):
            n = len(images)
            return images.reshape(n, -1), np.eye(10)[np.full(n, 3)]

    model = helpers.tiny("dcgan")
    monitor = attach(HealthMonitor(extractor=OneClass(), min_classes=5), model)
    monitor.on_epoch_end(0)
    assert [e[1] for e in monitor.events] == ["mode_collapse"] and "1 classes only" in monitor.events[0][2]
