"""SIGINT or SIGTERM stops fit at a step boundary instead of killing it; a second one stops at once."""

import os
import signal

import keras
import pytest
import tensorflow as tf

from tests import helpers
from zoo.training import preemption


class SignalAt(keras.callbacks.Callback):
    """Sends this process `number` after the steps in `at` (counted from 1)."""

    def __init__(self, number, at):
        super().__init__()
        self.number, self.at, self.steps = number, set(at), 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps in self.at:
            os.kill(os.getpid(), self.number)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_fit_after_the_step_it_came_in(number, capsys):
    model = helpers.tiny("dcgan")
    real, _ = helpers.real_batch(model, n=16 * 8)
    before = signal.getsignal(number)
    stop = preemption.StopOnSignal(tf.distribute.get_strategy())
    model.fit(real, batch_size=16, epochs=3, verbose=0, callbacks=[SignalAt(number, {3}), stop])
    name = signal.Signals(number).name
    assert stop.signal == name and stop.stopped_at_step == 3 == int(model.g_optimizer.iterations)
    assert f"[ganzoo] {name}: stopping after this step and backing up" in capsys.readouterr().out
    assert signal.getsignal(number) is before  # the process' own handler is back
    assert preemption.exit_status(name) == 128 + number


class _SecondSignal(Exception):
    pass


def _raise_second_signal(number, frame):
    raise _SecondSignal(signal.Signals(number).name)


def test_a_second_signal_stops_at_once():
    """The first signal gives SIGINT back to the handler the process had (Python's own raises
    KeyboardInterrupt); the test installs one of its own, so that it does not depend on what
    an earlier test in the same process left there."""
    model = helpers.tiny("dcgan")
    real, _ = helpers.real_batch(model, n=16 * 8)
    stop = preemption.StopOnSignal(tf.distribute.get_strategy(), every=1000)  # never gets to stop
    before = signal.signal(signal.SIGINT, _raise_second_signal)
    try:
        with pytest.raises(_SecondSignal, match="SIGINT"):
            model.fit(real, batch_size=16, epochs=3, verbose=0,
                      callbacks=[SignalAt(signal.SIGINT, {2, 4}), stop])  # fmt: skip
        assert signal.getsignal(signal.SIGINT) is _raise_second_signal
    finally:
        signal.signal(signal.SIGINT, before)
    assert stop.signal == "SIGINT" and int(model.g_optimizer.iterations) == 4
