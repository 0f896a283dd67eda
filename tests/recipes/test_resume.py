"""Training survives a kill at any moment: a rerun goes on from the step of the last backup."""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import recipes
from recipes.cli import main
from recipes.trainer import build_model
from tests import helpers
from zoo import data
from zoo.errors import ZooError
from zoo.presets import locate
from zoo.training import backups, callbacks

EPOCHS, STEPS = 4, 15


def train_command(run_dir, images) -> list[str]:
    return [
        sys.executable, "-m", "recipes.cli", "train", "--epochs", str(EPOCHS),
        "--steps-per-epoch", str(STEPS), "--batch-size", "16",
        "--set", "g_width=8", "--set", "d_width=8", "--set", "judge=none", "--set", f"dataset={images}",
        "--set", f"grid_every={EPOCHS}", "--no-export", "--run-dir", str(run_dir),
    ]  # fmt: skip


def lines_of(process) -> queue.Queue:
    """The child's output lines, read on a thread so that waiting for one can time out."""
    lines = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue, pattern: str, seen: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        assert line is not None, "training ended before " + pattern + "\n" + "".join(seen[-30:])
        seen.append(line)
        if re.match(pattern, line):
            return


def metadata_of(backup_dir) -> dict:
    return json.loads((backup_dir / "training_metadata.json").read_text())


KILLER = Path(__file__).with_name("kill_at_step.py")
EVERY = 4  # steps between backups


def test_sigkill_between_two_backups_loses_fewer_steps_than_between_them(
    tmp_path, small_images, capsys
):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [*train_command(run, small_images)[4:], "--backup-every", str(EVERY)]
    killed_after = STEPS + 7  # step 22, in epoch 2: its last backup is step 20
    child = subprocess.run([sys.executable, str(KILLER), str(killed_after), "--", *args],
                           capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stdout[-2000:] + child.stderr[-2000:]
    backed_up = metadata_of(run / "backup")
    assert backed_up["step"] == killed_after // EVERY * EVERY and killed_after - backed_up["step"] < EVERY
    assert (backed_up["epoch"], backed_up["batch"]) == divmod(backed_up["step"], STEPS) == (1, 5)

    rerun = subprocess.run([*train_command(run, small_images)[:4], *args], capture_output=True, text=True,
                           env=env, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert "1 epochs and 5 steps done (step 20)" in rerun.stdout, rerun.stdout[-2000:]
    epochs_run = [int(n) for n in re.findall(r"^Epoch (\d+)/", rerun.stdout, re.M)]
    assert epochs_run == list(range(2, EPOCHS + 1))  # the rest of epoch 2, then the others
    summary = json.loads((run / "summary.json").read_text())
    assert summary["generator_steps"] == summary["discriminator_steps"] == EPOCHS * STEPS
    assert summary["stopped_by"] == "epochs" and summary["resumed_from"]["step"] == 20
    # TensorBoard's step curves go on from the backup instead of drawing over the first run's.
    events = sorted((run / "logs" / "train").glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime)
    steps = {e.step for e in tf.compat.v1.train.summary_iterator(str(events[-1]))
             for v in e.summary.value if v.tag.startswith("batch_")}  # fmt: skip
    assert steps == set(range(21, EPOCHS * STEPS + 1))

    # Exactly one complete backup is left, no temporary or partial file, and it loads.
    last = f"step_{EPOCHS * STEPS:09d}.weights.h5"
    assert sorted(p.name for p in (run / "backup").iterdir()) == [last, "training_metadata.json"]
    recipe = recipes.Recipe.from_dict(json.loads((run / "config.json").read_text()))
    restored = build_model(recipe, data.spec(recipe.dataset))
    restored_epoch = restore(restored, run / "backup", STEPS)
    assert restored_epoch == EPOCHS and int(restored.g_optimizer.iterations) == EPOCHS * STEPS
    for a, b in zip(restored.weights, locate(run).model().weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    # A damaged backup is one clear line, not a traceback, and the run is left as it was.
    weights = run / "backup" / last
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    before = files_outside_logs(run)
    code = main([*train_command(run, small_images)[3:], "--epochs", str(EPOCHS + 1)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("ganzoo: error: the backup ") and "\n" not in err, err
    assert "cannot be restored" in err and f"delete {run / 'backup'}" in err
    assert files_outside_logs(run) == before


def test_sigterm_stops_at_a_step_backs_it_up_and_a_rerun_goes_on(tmp_path, small_images):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [*train_command(run, small_images), "--backup-every", "1000"]  # no backup but the signal's
    exporting = [word for word in command if word != "--no-export"]  # as a run that ends would
    child = subprocess.Popen(exporting, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen, lines = [], lines_of(child)
    try:
        wait_for(lines, r"Epoch 2/", seen)
        time.sleep(0.3)
        child.send_signal(signal.SIGTERM)
        while (line := lines.get(timeout=120)) is not None:  # to the end of its output
            seen.append(line)
        child.wait(timeout=60)
    finally:
        child.kill()
    output = "".join(seen)
    assert child.returncode == 143, output[-3000:]  # 128 + SIGTERM
    stopped = int(re.search(r"stopped by SIGTERM at step (\d+), backed up", output).group(1))
    assert STEPS < stopped < EPOCHS * STEPS and "run the same command again" in output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped_by"] == "signal" and summary["signal"] == "SIGTERM"
    assert summary["generator_steps"] == metadata_of(run / "backup")["step"] == stopped
    assert not (run / "export").exists()  # a signal leaves seconds, not the minutes an export takes

    rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert f"(step {stopped})" in rerun.stdout
    summary = json.loads((run / "summary.json").read_text())
    assert summary["generator_steps"] == EPOCHS * STEPS and summary["stopped_by"] == "epochs"


def files_outside_logs(run) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if not p.is_relative_to(run / "logs"))


def restore(model, backup_dir, steps_per_epoch: int = 3) -> int:
    """Restores a backup into `model` as fit would; returns the epoch it resumes after."""
    backup = backups.BackupAndRestore(backup_dir)
    backup.set_model(model)
    backup.set_params({"steps": steps_per_epoch})
    model._initial_epoch = None
    backup.on_train_begin()
    return model._initial_epoch


# === The callback alone, on a tiny model ===


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory):
    """A tiny GAN fitted one epoch with backups: (model, its data, backup dir, its weights)."""
    backup_dir = tmp_path_factory.mktemp("backup")
    model = helpers.tiny("dcgan")
    real, _ = helpers.real_batch(model, n=16 * 3)
    model.fit(real, batch_size=16, epochs=1, verbose=0, callbacks=[backups.BackupAndRestore(backup_dir)])
    return model, real, backup_dir, [w.numpy().copy() for w in model.weights]


@pytest.fixture
def fitted(one_epoch, tmp_path):
    """`one_epoch` with a copy of its backup directory that a test may damage."""
    model, real, backup_dir, weights = one_epoch
    shutil.copytree(backup_dir, tmp_path / "backup")
    return model, real, tmp_path / "backup", weights


def crash_while_writing_weights(monkeypatch, model):
    def save_weights(path, overwrite=True):
        with open(path, "wb") as f:  # half a file, then the process dies
            f.write(b"\x89HDF\r\n\x1a\n" + bytes(1000))
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save_weights", save_weights)


def crash_before_the_metadata(monkeypatch, model):
    def write_json(path, obj):
        raise KeyboardInterrupt

    monkeypatch.setattr(backups, "write_json", write_json)


@pytest.mark.parametrize("crash", [crash_while_writing_weights, crash_before_the_metadata])
def test_a_kill_during_a_backup_leaves_the_previous_one_whole(fitted, monkeypatch, crash):
    _, real, backup_dir, epoch_1 = fitted
    model = helpers.tiny("dcgan")
    crash(monkeypatch, model)
    with pytest.raises(KeyboardInterrupt):
        model.fit(
            real, batch_size=16, epochs=2, verbose=0, callbacks=[backups.BackupAndRestore(backup_dir)]
        )
    monkeypatch.undo()
    assert metadata_of(backup_dir)["epoch"] == 1
    (backup_dir / ".step_000000006.tmp.weights.h5").write_bytes(b"\x89HDF")  # what a SIGKILL leaves
    fresh = helpers.tiny("dcgan")
    assert restore(fresh, backup_dir) == 1
    for w, good in zip(fresh.weights, epoch_1, strict=True):
        np.testing.assert_array_equal(w.numpy(), good)
    assert sorted(p.name for p in backup_dir.iterdir()) == ["step_000000003.weights.h5",
                                                            "training_metadata.json"]  # fmt: skip


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "step_000000003.weights.h5").write_bytes(b""), "cannot be restored"),
        (lambda d: (d / "step_000000003.weights.h5").unlink(), "cannot be restored"),
        (lambda d: (d / "training_metadata.json").write_text('{"epoch": 1'), "is corrupt"),
        (lambda d: (d / "training_metadata.json").write_text('{"epoch": "1"}'), "is corrupt"),
        (lambda d: (d / "training_metadata.json").write_text('{"epoch": true}'), "is corrupt"),
        (lambda d: (d / "training_metadata.json").write_text("[1]"), "is corrupt"),
        (
            lambda d: (d / "training_metadata.json").write_text('{"epoch": 1, "weights": "../x.h5"}'),
            "corrupt",
        ),
    ],
)
def test_a_damaged_backup_is_a_zoo_error(fitted, damage, message):
    _, _, backup_dir, _ = fitted
    damage(backup_dir)
    with pytest.raises(ZooError, match=message) as raised:
        restore(helpers.tiny("dcgan"), backup_dir)
    assert "\n" not in str(raised.value) and f"delete {backup_dir}" in str(raised.value)


def test_the_health_monitor_snapshots_the_resumed_weights(fitted):
    """A NaN early in a resumed run restores the backed-up weights, not the fresh ones."""
    _, real, backup_dir, epoch_1 = fitted
    poisoned = real.copy()
    poisoned[16:32] = np.nan  # the second step of the resumed epoch
    fresh = helpers.tiny("dcgan")
    monitor = callbacks.HealthMonitor(snapshot_every=1000)
    fresh.fit(
        poisoned, batch_size=16, epochs=2, verbose=0, shuffle=False,
        callbacks=[monitor, backups.BackupAndRestore(backup_dir)],
    )  # fmt: skip
    assert monitor.stopped[0] == 5 and "at step 5" in monitor.stopped[1]
    assert "weights of step 3" in monitor.stopped[1]
    for w, good in zip(fresh.weights, epoch_1, strict=True):
        np.testing.assert_array_equal(w.numpy(), good)


def test_keras_own_metadata_layout_still_resumes(fitted):
    """A backup written by Keras' own callback (latest.weights.h5) is read too."""
    model, _, backup_dir, epoch_1 = fitted
    for path in backup_dir.iterdir():
        path.unlink()
    model.save_weights(backup_dir / "latest.weights.h5")
    (backup_dir / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    fresh = helpers.tiny("dcgan")
    assert restore(fresh, backup_dir) == 1
    for w, good in zip(fresh.weights, epoch_1, strict=True):
        np.testing.assert_array_equal(w.numpy(), good)
