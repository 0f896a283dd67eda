"""Multi-worker training on localhost: images/s per worker and in total, against one worker.

    .venv/bin/python benchmarks/multi_worker.py [--workers 2] [--steps 200] [--repeats 3] [--batch-size B]

Each round trains the default recipe for `--steps` generator steps twice, side by side
in time: once as one process on one core (`--strategy one-device`), once as `--workers`
processes of `ganzoo train --strategy multi-worker` on localhost ports, each on its own
core, with TF_CONFIG as TensorFlow documents it. Both use the recipe's global batch, so
each multi-worker replica computes 1/N of it. images/s counts the global batch per step,
as `ganzoo train` reports it (after the first step); the scaling ratio is N workers'
images/s over one worker's, the median over rounds.

It also checks, once, whether a plain `keras.Sequential` trains with `fit` under the
strategy: the zoo works around Keras' failure there (zoo/multi_worker.py); when this
reports that Keras trains, the workaround can go.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPE = "dcgan-fashion-mnist"


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def train_command(run_dir: Path, steps: int, batch_size: int | None) -> list[str]:
    batch = ["--batch-size", str(batch_size)] if batch_size else []
    return [
        sys.executable, "-m", "recipes.cli", "train", RECIPE, "--steps-per-epoch", str(steps),
        "--epochs", "1", "--set", "judge=none", "--set", "grid_every=1000", "--no-export",
        "--run-dir", str(run_dir), *batch,
    ]  # fmt: skip


def images_per_second(output: str) -> float:
    match = re.search(r"generator steps, ([\d.]+) images/s", output)
    if not match:
        raise RuntimeError("no images/s in the output:\n" + output[-2000:])
    return float(match.group(1))


def pinned(core: int) -> list[str]:
    return ["taskset", "-c", str(core % os.cpu_count())] if _has_taskset() else []


def _has_taskset() -> bool:
    return subprocess.run(["sh", "-c", "command -v taskset"], capture_output=True).returncode == 0


def one_round(
    workers: int, steps: int, batch_size: int | None, scratch: Path, env: dict
) -> tuple[float, list[float]]:
    """(one worker's images/s, each of N workers' images/s)."""
    single = subprocess.run(
        [*pinned(0), *train_command(scratch / "one", steps, batch_size), "--strategy", "one-device"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1200,
    )  # fmt: skip
    if single.returncode:
        raise RuntimeError(single.stdout[-2000:] + single.stderr[-2000:])
    ports = free_ports(workers)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    children = [
        subprocess.Popen(
            [*pinned(i), *train_command(scratch / "many", steps, batch_size), "--strategy", "multi-worker"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env={
                **env,
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
            },
        )
        for i in range(workers)
    ]
    outputs = [child.communicate(timeout=1200)[0] for child in children]
    for child, out in zip(children, outputs, strict=True):
        if child.returncode:
            raise RuntimeError(out[-3000:])
    return images_per_second(single.stdout), [images_per_second(out) for out in outputs]


def keras_trains_alone(env: dict) -> str:
    """Whether a plain keras.Sequential trains with fit on two localhost workers."""
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    code = (
        "import keras, numpy as np, tensorflow as tf\n"
        "s = tf.distribute.MultiWorkerMirroredStrategy()\n"
        "with s.scope():\n"
        "    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]); m.compile('sgd', 'mse')\n"
        "x = np.ones((64, 4), np.float32)\n"
        "try:\n"
        "    m.fit(tf.data.Dataset.from_tensor_slices((x, x[:, :1])).repeat().batch(8), epochs=1,"
        " steps_per_epoch=2, verbose=0); print('RESULT trains')\n"
        "except Exception as e:\n"
        "    print('RESULT fails:', type(e).__name__, str(e).splitlines()[0][:90])\n"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={
                **env,
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
            },
        )
        for i in range(2)
    ]
    outputs = [child.communicate(timeout=300)[0] for child in children]
    results = [
        line[len("RESULT ") :] for out in outputs for line in out.splitlines() if line.startswith("RESULT")
    ]
    return results[0] if results else "no result (the workers crashed)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, help="the global batch (default: the recipe's, 64)")
    args = parser.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}

    print(f"keras.Sequential with fit under MultiWorkerMirroredStrategy: {keras_trains_alone(env)}")
    batch = args.batch_size or "the recipe's (64)"
    print(f"{RECIPE}, {args.steps} generator steps, global batch {batch}; one core per worker")
    ones, totals, per_worker = [], [], []
    for round_ in range(args.repeats):
        with tempfile.TemporaryDirectory() as scratch:
            one, many = one_round(args.workers, args.steps, args.batch_size, Path(scratch), env)
        total = statistics.median(many)  # every worker times the same synchronous steps
        ones.append(one)
        totals.append(total)
        per_worker.append(total / args.workers)
        print(
            f"round {round_ + 1}: 1 worker {one:.0f} images/s; {args.workers} workers {total:.0f} images/s "
            f"in total ({', '.join(f'{m:.0f}' for m in many)} as each reports), "
            f"{total / args.workers:.0f} per worker; scaling {total / one:.2f}x"
        )
    one, total = statistics.median(ones), statistics.median(totals)
    print(
        f"median of {args.repeats}: 1 worker {one:.0f} images/s; {args.workers} workers {total:.0f} images/s "
        f"in total, {statistics.median(per_worker):.0f} per worker; scaling "
        f"{statistics.median(t / o for t, o in zip(totals, ones, strict=True)):.2f}x "
        f"(ideal {args.workers:.0f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
