"""Two-worker MultiWorkerMirroredStrategy training on localhost, as TensorFlow documents it.

    .venv/bin/python benchmarks/multi_worker.py [--steps 4]

Starts two worker processes of this script with TF_CONFIG naming two free localhost
ports. Each trains, with `fit`, (a) a plain keras.Sequential regression model, the
control, and (b) the project's DCGAN at test size, both under
MultiWorkerMirroredStrategy; then prints per worker what happened and, where both
workers finished, whether they hold the same weights (they must: synchronous training).

This is why `ganzoo train --strategy multi-worker` refuses to start on the pinned
Keras: when this script reports both models training on both workers, lift the
refusal in recipes/scale.py.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(index: int, ports: list[int], steps: int) -> dict:
    """Runs in a worker process; returns what each model did."""
    os.environ["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"worker": [f"localhost:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    import keras
    import numpy as np
    import tensorflow as tf

    import zoo

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)

    def plain():
        with strategy.scope():
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            model.compile("sgd", "mse")
        x = rng.normal(size=(64, 4)).astype(np.float32)
        return model, tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).repeat().batch(8)

    def dcgan():
        with strategy.scope():
            model = zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=8, g_width=8, d_width=8, seed=0)
            model.compile(
                d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
            )
        images = rng.uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
        return model, tf.data.Dataset.from_tensor_slices(images).repeat().batch(16)

    results = {}
    for name, build in (("keras.Sequential", plain), ("gan-zoo dcgan", dcgan)):
        keras.utils.set_random_seed(0)
        model, dataset = build()
        try:
            model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
        except Exception as e:  # report, don't crash: the other model still runs
            results[name] = {"ok": False, "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
            continue
        checksum = float(sum(np.abs(w).sum() for w in model.get_weights()))
        results[name] = {"ok": True, "weights_checksum": checksum}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        ports = [int(p) for p in args.ports.split(",")]
        print(json.dumps(worker(args.worker, ports, args.steps)), flush=True)
        return 0

    ports = [free_port(), free_port()]
    command = [sys.executable, __file__, "--steps", str(args.steps), "--ports", ",".join(map(str, ports))]
    children = [
        subprocess.Popen(
            [*command, "--worker", str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for i in range(2)
    ]
    reports = []
    for i, child in enumerate(children):
        out, err = child.communicate(timeout=600)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if child.returncode != 0 or not lines:
            tail = err.strip().splitlines()[-1:] or ["no output"]
            reports.append({"worker failed": {"ok": False, "error": f"exit {child.returncode}: {tail[0]}"}})
        else:
            reports.append(json.loads(lines[-1]))
        print(f"worker {i} (localhost:{ports[i]}):")
        for name, result in reports[-1].items():
            outcome = (
                f"trained, weights checksum {result['weights_checksum']:.6f}"
                if result["ok"]
                else result["error"]
            )
            print(f"  {name:<18} {outcome}")
    for name in reports[0]:
        both = [r.get(name, {}) for r in reports]
        if all(r.get("ok") for r in both):
            same = both[0]["weights_checksum"] == both[1]["weights_checksum"]
            print(f"{name}: both workers trained; identical weights: {same}")
        else:
            print(f"{name}: does not train under MultiWorkerMirroredStrategy here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
