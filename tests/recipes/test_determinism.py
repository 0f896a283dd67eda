"""`ganzoo train --deterministic`: the same recipe and seed give bit-identical weights.

Op determinism is process-wide and cannot be turned off, so each run is its own process.
"""

import json
import os
import subprocess
import sys

import numpy as np

from zoo.presets import locate


def train(run_dir, seed: int, env: dict) -> subprocess.Popen:
    argv = [sys.executable, "-m", "recipes.cli", "train", "--deterministic", "--epochs", "2",
            "--steps-per-epoch", "5", "--batch-size", "16", "--seed", str(seed), "--set", "g_width=8",
            "--set", "d_width=8", "--set", "judge=none", "--no-export",
            "--run-dir", str(run_dir)]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_the_same_seed_gives_bit_identical_weights(tmp_path, fashion_mnist_dir):
    env = {**os.environ, "TFDS_DATA_DIR": str(fashion_mnist_dir)}
    runs = {name: (tmp_path / name, seed) for name, seed in [("a", 3), ("b", 3), ("other", 4)]}
    children = {name: train(run, seed, env) for name, (run, seed) in runs.items()}
    for name, child in children.items():
        output, _ = child.communicate(timeout=300)
        assert child.returncode == 0, f"{name}: {output[-3000:]}"

    weights = {}
    for name, (run, _) in runs.items():
        summary = json.loads((run / "summary.json").read_text())
        assert summary["deterministic"] is True and summary["generator_steps"] == 10
        model = locate(run).model()
        state = [*model.weights, *model.g_optimizer.variables, *model.d_optimizer.variables]
        weights[name] = [np.asarray(w) for w in state]
    for a, b in zip(weights["a"], weights["b"], strict=True):
        assert np.array_equal(a, b)  # G, D, G's average and both optimizers, bit for bit
    assert not all(np.array_equal(a, b) for a, b in zip(weights["a"], weights["other"], strict=True))
