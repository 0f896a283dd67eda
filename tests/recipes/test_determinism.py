"""`ganzoo train --deterministic`: the same recipe and seed give bit-identical weights, and so
does a run that was killed and resumed from its last backup.

Op determinism is process-wide and cannot be turned off, so each run is its own process.
"""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

import recipes
from recipes.trainer import build_model
from zoo import data
from zoo.presets import locate

KILLER = Path(__file__).with_name("kill_at_step.py")


def train(run_dir, seed: int, images, kill_after: int | None = None) -> subprocess.Popen:
    argv = ["--deterministic", "--epochs", "2", "--steps-per-epoch", "5", "--batch-size", "16",
            "--seed", str(seed), "--set", "g_width=8", "--set", "d_width=8", "--set", "judge=none",
            "--set", f"dataset={images}", "--backup-every", "3", "--no-export",
            "--run-dir", str(run_dir)]  # fmt: skip
    if kill_after is None:
        command = [sys.executable, "-m", "recipes.cli", "train", "dcgan-fashion-mnist", *argv]
    else:
        command = [sys.executable, str(KILLER), str(kill_after), "--", "dcgan-fashion-mnist", *argv]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(name, child, code: int = 0) -> str:
    output, _ = child.communicate(timeout=300)
    assert child.returncode == code, f"{name}: {output[-3000:]}"
    return output


def test_the_same_seed_gives_bit_identical_weights_even_across_a_kill(tmp_path, small_images):
    runs = {name: (tmp_path / name, 3) for name in ("a", "resumed")}
    # "resumed" dies after step 7 (backups every 3 steps: the last is step 6, in epoch 2), then
    # runs again to its end.
    children = {name: train(run, seed, small_images, kill_after=7 if name == "resumed" else None)
                for name, (run, seed) in runs.items()}  # fmt: skip
    finish("resumed", children.pop("resumed"), code=-9)
    again = finish("resumed", train(tmp_path / "resumed", 3, small_images))
    assert "1 epochs and 1 steps done (step 6)" in again, again[-3000:]
    for name, child in children.items():
        finish(name, child)

    weights = {}
    for name, (run, _) in runs.items():
        summary = json.loads((run / "summary.json").read_text())
        assert summary["deterministic"] is True and summary["generator_steps"] == 10
        model = locate(run).model()
        state = [*model.weights, *model.g_optimizer.variables, *model.d_optimizer.variables]
        weights[name] = [np.asarray(w) for w in state]
    for a, b in zip(weights["a"], weights["resumed"], strict=True):
        assert np.array_equal(a, b)  # G, D, G's average and both optimizers, bit for bit
    # ... and training moved them: they are not the seed's initial weights.
    recipe = recipes.Recipe.from_dict(json.loads((runs["a"][0] / "config.json").read_text()))
    keras.utils.set_random_seed(recipe.seed)
    initial = [np.asarray(w) for w in build_model(recipe, data.spec(recipe.dataset)).weights]
    assert not all(np.array_equal(a, b) for a, b in zip(weights["a"], initial, strict=False))
