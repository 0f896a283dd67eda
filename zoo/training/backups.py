"""Backups of a training run every N steps, and a resume that continues from that very step."""

import json
from pathlib import Path

import keras

from zoo.contract import is_integer, publish
from zoo.errors import ZooError, first_line
from zoo.files import write_fault, write_json


class BackupAndRestore(keras.callbacks.Callback):
    """Backs the run up every `every` steps and at the end of each epoch (or of training);
    a rerun restores the last backup and goes on from its step.

    Keras' own callback, given `save_freq` in steps, restores the epoch only: the resumed
    run trains that whole epoch again and ends with more steps than asked for. Here a
    backup records its position (epoch, step within it, steps overall). The run's data
    starts at that step (`zoo.data.training_stream` deals every pass from the seed, so the
    batches are those the lost steps had), and the first epoch trained after a restore ends
    once the steps it had left are done (`ends_resumed_epoch`, a callback to put last), so
    the run ends at exactly its step count.

    The random streams' states (the noise, dropout: Keras' seed generators, which its weight
    files leave out) are backed up too: with `--deterministic`, a resumed run ends with the
    weights of one that never stopped.

    Safe against a kill at any moment: each backup is a new weights file, written under a
    temporary name and renamed; the metadata, replaced atomically after it, is the commit.
    Older files and leftovers of an interrupted save are removed. A write the disk refuses
    (full, read-only) is a ZooError that says the previous backup is intact.

    Args:
        backup_dir: the directory of the backups; nothing else may write there.
        write_dir: where this process saves, if not `backup_dir`: on several workers, every
            worker restores from the chief's `backup_dir` (a file system they share) and
            the others save to a scratch directory of their own.
        every: steps between backups; 0 backs up at epoch ends only.
    """

    METADATA = "training_metadata.json"

    def __init__(self, backup_dir, write_dir=None, every: int = 0):
        super().__init__()
        if not (is_integer(every) and every >= 0):
            raise ZooError(f"backup_every must be a whole number of steps, 0 or more; got {every!r}")
        self.directory = Path(backup_dir)
        self.write_dir = Path(write_dir) if write_dir is not None else self.directory
        self.every = int(every)
        self.resumed: dict | None = None  # what the run resumed from, once restored
        self.saved_step: int | None = None  # the step of the last complete backup, once known
        self.ends_resumed_epoch = _EndResumedEpoch(self)

    # === Reading ===

    def latest(self) -> tuple[dict, Path] | None:
        """(position, weights file) of the last complete backup; None when there is none.

        The position is {"epoch": epochs done, "batch": steps done in the next epoch,
        "step": steps done overall, or None in a backup of epochs only (epoch x steps per epoch),
        "random_states": the seed generators' states, [] where none were saved}.
        """
        path = self.directory / self.METADATA
        if not path.is_file():
            return None
        try:
            metadata = json.loads(path.read_text())
            epoch, batch, step = metadata["epoch"], metadata.get("batch", 0), metadata.get("step")
            # Keras' own layout, from a run that began before backups were written this way.
            name = metadata.get("weights", "latest.weights.h5")
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ZooError(f"{path} is corrupt ({type(e).__name__}); {self._advice()}") from e
        counts = [epoch, batch] + ([step] if step is not None else [])
        named = isinstance(name, str) and Path(name).name == name
        if not (all(is_integer(n) and n >= 0 for n in counts) and named):
            raise ZooError(f"{path} is corrupt (epoch {epoch!r}, batch {batch!r}, step {step!r}, "
                           f"weights {name!r}); {self._advice()}")  # fmt: skip
        position = {"epoch": epoch, "batch": batch, "step": step,
                    "random_states": metadata.get("random_states", [])}  # fmt: skip
        return position, self.directory / name

    def start_step(self, steps_per_epoch: int) -> int:
        """The step the run goes on from: the last backup's, 0 without one (where its data starts)."""
        latest = self.latest()
        return 0 if latest is None else _step_of(latest[0], steps_per_epoch)

    def _advice(self) -> str:
        return f"delete {self.directory} to train the run from its start"

    # === Hooks ===

    def on_train_begin(self, logs=None):
        self._steps_per_epoch = self.params["steps"]
        self._left_in_first_epoch = None
        latest = self.latest()
        self._step = 0 if latest is None else _step_of(latest[0], self._steps_per_epoch)
        if self.write_dir == self.directory:
            self._remove_all_but(latest[1] if latest else None)
        if latest is None:
            return
        position, weights = latest
        try:
            self.model.load_weights(weights)
        except Exception as e:  # h5py's OSError for a damaged file, ValueError for a mismatch
            reason = first_line(e)
            raise ZooError(f"the backup {weights} cannot be restored ({reason}); {self._advice()}") from e
        states = _random_state_variables(self.model)
        if len(position["random_states"]) == len(states):  # in the model's order: names differ by process
            for variable, value in zip(states, position["random_states"], strict=True):
                variable.assign(value)
        epoch, batch = position["epoch"], position["batch"]
        if batch >= self._steps_per_epoch:  # steps_per_epoch lowered since: that epoch is done
            epoch, batch = epoch + 1, 0
        self.model._initial_epoch = epoch
        self._left_in_first_epoch = self._steps_per_epoch - batch if batch else None
        self.saved_step = self._step
        optimizer = getattr(self.model, "g_optimizer", None)
        g_step = int(optimizer.iterations.numpy()) if optimizer is not None else None
        self.resumed = {"backup": str(weights), "epoch": epoch, "batch": batch, "step": self._step,
                        "generator_step": g_step}  # fmt: skip
        where = f"{epoch} epochs" + (f" and {batch} steps" if batch else "") + " done"
        at = f", generator step {g_step}" if g_step is not None else ""
        print(f"resumed from {weights}: {where} (step {self._step}){at}", flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._in_epoch = self._steps_per_epoch - self._left_in_first_epoch if self._left_in_first_epoch else 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._in_epoch += 1
        if self.every and self._step % self.every == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._save()

    # === Writing ===

    def _position(self) -> tuple[int, int]:
        if self._in_epoch >= self._steps_per_epoch:
            return self._epoch + 1, 0
        return self._epoch, self._in_epoch

    def _save(self):
        if self.saved_step == self._step:
            return
        directory = self.write_dir
        name = f"step_{self._step:09d}.weights.h5"
        tmp = directory / f".{name.removesuffix('.weights.h5')}.tmp.weights.h5"
        epoch, batch = self._position()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.model.save_weights(tmp, overwrite=True)
            publish(tmp, directory / name)
            states = [v.numpy().tolist() for v in _random_state_variables(self.model)]
            write_json(directory / self.METADATA, {"epoch": epoch, "batch": batch, "step": self._step,
                                                   "weights": name, "random_states": states})  # fmt: skip
        except Exception as e:
            if self._committed() != name:  # the new weights are not the backup yet: drop them
                (directory / name).unlink(missing_ok=True)
            reason = write_fault(e)
            if reason is None:
                raise
            kept = f"the backup of step {self.saved_step} is intact" if self.saved_step else "none was kept"
            raise ZooError(f"cannot write the backup of step {self._step} to {directory} ({reason}); {kept}; "
                           "free space or make it writable, then run the same command again") from e
        finally:
            tmp.unlink(missing_ok=True)
        self.saved_step = self._step
        self._remove_all_but(directory / name, directory)

    def _committed(self) -> str | None:
        """The weights file the metadata names now, in this process' backup directory."""
        try:
            return json.loads((self.write_dir / self.METADATA).read_text()).get("weights")
        except (OSError, ValueError, AttributeError):
            return None

    def _remove_all_but(self, keep: Path | None, directory: Path | None = None) -> None:
        """Removes the superseded backups and what an interrupted save left behind."""
        directory = self.directory if directory is None else directory
        if not directory.is_dir():
            return
        for path in directory.iterdir():
            stale = path.name.endswith(".weights.h5") and path != keep
            if (stale or path.name.startswith(".")) and path.is_file():
                path.unlink()


class _EndResumedEpoch(keras.callbacks.Callback):
    """Ends the epoch a run resumed in once the steps it had left are done: Keras runs every
    epoch for its full count of steps, so this stops fit's loop there and lets it go on
    after the epoch's end. Put it last: every other callback has then had its say on that
    step, and one that stopped training leaves it stopped."""

    def __init__(self, backup: BackupAndRestore):
        super().__init__()
        self.backup, self._ended = backup, False

    def on_train_batch_end(self, batch, logs=None):
        backup = self.backup
        if backup._left_in_first_epoch and backup._in_epoch == backup._steps_per_epoch:
            backup._left_in_first_epoch = None
            if not self.model.stop_training:
                self.model.stop_training = self._ended = True

    def on_epoch_end(self, epoch, logs=None):
        if self._ended:
            self.model.stop_training = self._ended = False


def _step_of(position: dict, steps_per_epoch: int) -> int:
    """Steps done overall at a backup's position (an epochs-only backup does not say)."""
    if position["step"] is not None:
        return position["step"]
    return position["epoch"] * steps_per_epoch + position["batch"]


def _random_state_variables(model) -> list:
    """The states of the model's keras.random.SeedGenerators (noise, dropout)."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]
