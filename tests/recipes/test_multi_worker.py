"""`ganzoo train --strategy multi-worker`: two worker processes on localhost train as one
device would, only the chief writes the run, a preemption notice stops every worker at one step,
a lost worker is one line on the others, and a relaunch goes on from the last backup."""

import json
import os
import re
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


def tiny_args(recipe: str, run_dir, steps: int, epochs: int, images) -> list[str]:
    # float32 whatever the CPU: the workers are compared with one device to 1e-4.
    return [
        recipe, "--batch-size", "16", "--steps-per-epoch", str(steps), "--epochs", str(epochs),
        "--set", "g_width=8", "--set", "d_width=8", "--set", "judge=none", "--set", f"grid_every={epochs}",
        "--set", f"dataset={images}", "--no-export", "--no-mixed-precision", "--run-dir", str(run_dir),
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
def env():
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


# WGAN-GP: G's batch norm, D's several steps and the gradient penalty across workers (the
# default recipe's DCGAN adds nothing this one lacks; dropped to keep the suite in budget).
@pytest.mark.parametrize("recipe", ["wgan-gp-fashion-mnist"])
def test_two_workers_train_as_one_device_and_only_the_chief_writes(recipe, tmp_path, env, small_images):
    steps, epochs = 3, 2
    runs = [tmp_path / "chief", tmp_path / "other"]  # separate folders: who wrote what shows
    weights = [tmp_path / "w0.keras", tmp_path / "w1.keras"]
    args = lambda run: tiny_args(recipe, run, steps, epochs, small_images)  # noqa: E731
    workers = launch(free_ports(2), runs, weights, args, env)

    # Meanwhile, the same recipe on one device with the same global batch and seeds.
    base = recipes.get(recipe).with_overrides(
        ["g_width=8", "d_width=8", "judge=none", f"grid_every={epochs}", f"dataset={small_images}"]
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
        recipes.trainer.data.spec(str(small_images))).weights]  # fmt: skip
    assert largest_difference(chief, other) == 0.0  # synchronous: one update applied on both
    moved = largest_difference(single, start)
    assert moved > 1e-3  # the steps did something
    # Two replicas of 8 sum their gradients in another order than one device's batch of 16.
    assert largest_difference(chief, single) < 1e-4, (largest_difference(chief, single), moved)


def wait_for_backup(metadata, workers, at_least: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not (metadata.exists() and json.loads(metadata.read_text())["step"] >= at_least):
        assert all(w.poll() is None for w in workers), workers[0].stdout.read()[-3000:]
        assert time.monotonic() < deadline, f"no backup of step {at_least} within {timeout} s"
        time.sleep(0.05)


def test_preemption_a_lost_worker_and_relaunches(tmp_path, env, small_images):
    """SIGTERM to one worker stops both at one step; relaunched, one worker is SIGKILLed and
    the other says so in one line; relaunched again, the job ends at its exact step count."""
    steps, epochs, every = 20, 3, 8
    run = tmp_path / "run"  # one shared folder, as on a shared file system
    weights = [tmp_path / "w0.keras", tmp_path / "w1.keras"]
    ports = free_ports(2)
    args = lambda run_dir: [*tiny_args("dcgan-fashion-mnist", run_dir, steps, epochs, small_images),  # noqa: E731
                            "--backup-every", str(every)]  # fmt: skip
    metadata = run / "backup" / "training_metadata.json"

    # A preemption notice to worker 1 only: both stop at the same step, backed up.
    workers = launch(ports, [run, run], weights, args, env)
    try:
        wait_for_backup(metadata, workers, every)
        workers[1].send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert [w.returncode for w in workers] == [143, 143], outputs[0][-2000:] + outputs[1][-2000:]
    stops = [re.search(r"stopped by (.+) at step (\d+), backed up", out) for out in outputs]
    assert stops[1].group(1) == "SIGTERM" and stops[0].group(1) == "another worker's signal"
    stopped = int(stops[0].group(2))
    assert int(stops[1].group(2)) == stopped == json.loads(metadata.read_text())["step"]
    assert json.loads((run / "summary.json").read_text())["stopped_by"] == "signal"

    # Relaunched; worker 1 is killed after the next backup: worker 0 says so and exits with 3.
    workers = launch(ports, [run, run], weights, args, env)
    try:
        wait_for_backup(metadata, workers, stopped + 1)
        workers[1].send_signal(signal.SIGKILL)
        survivor, _ = workers[0].communicate(timeout=180)
    finally:
        for worker in workers:
            worker.kill()
            worker.communicate()
    assert f"(step {stopped})" in survivor, survivor[-2000:]
    assert workers[0].returncode == 3, survivor[-3000:]
    last = json.loads(metadata.read_text())["step"]
    error = [line for line in survivor.splitlines() if line.startswith("ganzoo: error:")]
    assert error == [
        f"ganzoo: error: lost worker 1 (localhost:{ports[1]}) of 2, so worker 0 of 2 stopped; the last "
        f"backup is of step {last} in {run / 'backup'}; relaunch every worker with the same command to go on "
        "from it"
    ], survivor[-3000:]
    assert "Traceback" not in survivor

    # Relaunched again: the job ends at exactly its step count, the same weights on both.
    outputs = finish(launch(ports, [run, run], weights, args, env))
    for out in outputs:
        assert f"resumed from {run / 'backup'}" in out and f"(step {last})" in out, out[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["generator_steps"] == steps * epochs and summary["stopped_by"] == "epochs"
    assert summary["resumed_from"]["step"] == summary["resumed_from"]["generator_step"] == last
    assert largest_difference(weights_of(weights[0]), weights_of(weights[1])) == 0.0
