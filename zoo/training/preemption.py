"""A stop on SIGTERM or SIGINT at a step boundary that every worker agrees on."""

import signal
import threading

import keras

from zoo import multi_worker

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopOnSignal(keras.callbacks.Callback):
    """SIGTERM (a preemptible VM's or a batch scheduler's notice) or SIGINT (Ctrl-C) stops
    training at the next step boundary; the backup callback then saves that step and the
    run's summary says `stopped_by: signal`. A second signal stops at once.

    On several workers every one stops at the same step, as with TensorFlow's
    PreemptionCheckpointHandler: every `every` steps all of them ask, in one all-reduce,
    whether any was signalled. The handler itself is not used: it saves tf.train.Checkpoints
    where a run saves its Keras backups, watches SIGTERM only, and does nothing on Google
    Cloud CPU VMs.

    Attributes:
        signal: the signal's name once one came ("SIGTERM"); "another worker's signal" on a
            worker stopped because another one was signalled.
        stopped_at_step: the generator step training stopped after, or None.
    """

    def __init__(self, strategy, every: int | None = None):
        super().__init__()
        self.strategy = strategy
        self.every = every or (10 if multi_worker.in_use(strategy) else 1)
        self.signal: str | None = None
        self.stopped_at_step: int | None = None
        self._previous: dict = {}

    def on_train_begin(self, logs=None):
        self._steps, self.signal, self.stopped_at_step = 0, None, None
        if threading.current_thread() is threading.main_thread():  # only there can Python catch signals
            self._previous = {s: signal.signal(s, self._received) for s in SIGNALS}

    def _received(self, number, frame):
        if self.signal is None:
            self.signal = signal.Signals(number).name
            print(f"[ganzoo] {self.signal}: stopping after this step and backing up; send it again to stop "
                  "at once", flush=True)  # fmt: skip
        self.release()  # a second signal acts as it would without this callback

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        if self._steps % self.every:
            return
        if multi_worker.any_worker(self.strategy, self.signal is not None):
            self.model.stop_training = True
            self.stopped_at_step = int(self.model.g_optimizer.iterations.numpy())
            self.signal = self.signal or "another worker's signal"

    def on_train_end(self, logs=None):
        self.release()

    def release(self):
        """Gives the signals back to the handlers they had; call it when fit raises too."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}


def exit_status(name: str) -> int:
    """The CLI's status after a stop on signal `name` (`StopOnSignal.signal`): 128 + its
    number, the shell's convention (143 for SIGTERM or another worker's signal, 130 for
    SIGINT), so a scheduler sees an early stop; the run was backed up and a rerun goes on."""
    return 128 + (signal.SIGINT if name == "SIGINT" else signal.SIGTERM)
