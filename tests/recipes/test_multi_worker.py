"""`ganzoo train --strategy multi-worker`: two worker processes on localhost train as one
device would, only the chief writes the run, and a killed job resumes when relaunched."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import recipes
import zoo.models.variants  # noqa: F401  (registers the variants for load_model)

HELPER = Path(__file__).with_name("multi_worker_train.py")
ROOT = Path(__file__).resolve().parents[2]


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tiny_args(recipe: str, run_dir, steps: int, epochs: int) -> list[str]:
    # float32 whatever the CPU: the workers are compared with one device to 1e-4.
    return [
        recipe, "--batch-size", "16", "--steps-per-epoch", str(steps), "--epochs", str(epochs),
        "--set", "g_width=8", "--set", "d_width=8", "--set", "judge=none", "--set", f"grid_every={epochs}",
        "--no-export", "--no-mixed-precision", "--run-dir", str(run_dir),
    ]  # fmt: skip


def launch(ports, run_dirs, weights, args_of, env) -> list[subprocess.Popen]:
    """One process per worker, each running the helper with its own TF_CONFIG index."""
    return [
        subprocess.Popen(
            [
                sys.executable,
                str(HELPER),
                str(i),
                ",".join(map(str, ports)),
                str(weights[i]),
                "--",
                *args_of(run_dirs[i]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for i in range(len(ports))
    ]


def finish(workers, timeout: float = 240) -> list[str]:
    outputs = []
    for worker in workers:
        out, _ = worker.communicate(timeout=timeout)
        outputs.append(out)
    for worker, out in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, out[-3000:]
    return outputs


def weights_of(path) -> list[np.ndarray]:
    model = keras.saving.load_model(path, safe_mode=True)
    return [np.asarray(w) for w in model.weights]


def largest_difference(a, b) -> float:
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


@pytest.fixture
def env(fashion_mnist_dir):
    return {
        **os.environ,
        "TFDS_DATA_DIR": str(fashion_mnist_dir),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


# WGAN-GP: G's batch norm, D's several steps and the gradient penalty across workers (the
# default recipe's DCGAN adds nothing this one lacks; dropped to keep the suite in budget).
@pytest.mark.parametrize("recipe", ["wgan-gp-fashion-mnist"])
def test_two_workers_train_as_one_device_and_only_the_chief_writes(recipe, tmp_path, env, monkeypatch):
    steps, epochs = 3, 2
    runs = [tmp_path / "chief", tmp_path / "other"]  # separate folders: who wrote what shows
    weights = [tmp_path / "w0.keras", tmp_path / "w1.keras"]
    workers = launch(free_ports(2), runs, weights, lambda run: tiny_args(recipe, run, steps, epochs), env)

    # Meanwhile, the same recipe on one device with the same global batch and seeds.
    monkeypatch.setenv("TFDS_DATA_DIR", env["TFDS_DATA_DIR"])
    base = recipes.get(recipe).with_overrides(
        ["g_width=8", "d_width=8", "judge=none", f"grid_every={epochs}"]
    )
    one = recipes.run(
        recipes.Recipe.from_dict(
            {**base.to_dict(), "batch_size": 16, "steps_per_epoch": steps, "epochs": epochs}
        ),
        tmp_path / "one",
        export=False,
        verbose=0,
        strategy="one-device",
        mixed_precision=False,
    )
    outputs = finish(workers)

    assert "trained" in outputs[1] and "as worker 1 of 2" in outputs[1], outputs[1][-2000:]
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["replicas"] == 2 and summary["workers"] == 2 and summary["chief"]
    assert summary["generator_steps"] == one["generator_steps"] == steps * epochs
    # The chief wrote the whole run; the other worker wrote nothing (its run folder does not exist).
    assert {"config.json", "final.keras", "samples.png", "summary.json", "logs", "backup"} <= {
        p.name for p in runs[0].iterdir()
    }
    assert not runs[1].exists()

    chief, other = weights_of(weights[0]), weights_of(weights[1])
    single = weights_of(tmp_path / "one" / "final.keras")
    start = [np.asarray(w) for w in recipes.trainer.build_model(
        recipes.Recipe.from_dict(json.loads((runs[0] / "config.json").read_text())),
        recipes.trainer.data.spec("fashion_mnist")).weights]  # fmt: skip
    assert largest_difference(chief, other) == 0.0  # synchronous: one update applied on both
    moved = largest_difference(single, start)
    assert moved > 1e-3  # the steps did something
    # Two replicas of 8 sum their gradients in another order than one device's batch of 16.
    assert largest_difference(chief, single) < 1e-4, (largest_difference(chief, single), moved)


def test_a_killed_worker_and_a_relaunch_resume_from_the_last_backup(tmp_path, env):
    """SIGKILL one worker mid-epoch, kill the job, relaunch the same command on both."""
    steps, epochs = 20, 3
    run = tmp_path / "run"  # one shared folder, as on a shared file system
    weights = [tmp_path / "w0.keras", tmp_path / "w1.keras"]
    ports = free_ports(2)
    args = lambda run_dir: tiny_args("dcgan-fashion-mnist", run_dir, steps, epochs)  # noqa: E731
    workers = launch(ports, [run, run], weights, args, env)
    metadata = run / "backup" / "training_metadata.json"
    try:
        deadline = time.monotonic() + 180
        while not metadata.exists():
            assert all(w.poll() is None for w in workers), workers[0].stdout.read()[-3000:]
            assert time.monotonic() < deadline, "no backup within 180 s"
            time.sleep(0.05)
        workers[1].send_signal(signal.SIGKILL)  # epoch 1 is backed up; epoch 2 is under way
    finally:
        for worker in workers:
            worker.kill()
            worker.communicate()
    completed = json.loads(metadata.read_text())["epoch"]
    assert 1 <= completed < epochs
    assert not (run / "summary.json").exists()  # the job did not finish

    outputs = finish(launch(ports, [run, run], weights, args, env))
    for out in outputs:
        assert f"resumed from {run / 'backup'}" in out and f"{completed} epochs done" in out, out[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["generator_steps"] == steps * epochs and summary["stopped_by"] == "epochs"
    assert summary["resumed_from"]["epoch"] == completed
    assert summary["resumed_from"]["generator_step"] == completed * steps
    assert largest_difference(weights_of(weights[0]), weights_of(weights[1])) == 0.0
