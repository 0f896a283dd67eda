"""Generator latency at batch 1 and throughput at batch 256, side by side:
the Keras model, the exported SavedModel (TensorFlow) and the exported ONNX file
(onnxruntime, default and tuned session options), with ratios and their parity.

    .venv/bin/python benchmarks/export_latency.py [--run RUN] [--repeats 200]

Without --run it exports the default recipe's generator, untrained (speed does not
depend on the weights).
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import onnxruntime as ort
import tensorflow as tf

import recipes
from export.artifacts import export_model
from recipes.training import build_model, load_run
from zoo import data


def tuned_session(path: Path) -> ort.InferenceSession:
    """Options that matter on a small CPU: every graph optimization (including the x86
    NCHWc conv layout), one sequential stream, threads = cores, spinning threads."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def timed(fn, repeats: int) -> float:
    """Median seconds per call, after warm-up calls."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run", type=Path, help="a trained run directory (default: a fresh default generator)"
    )
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    if args.run:
        model = load_run(args.run)
    else:
        recipe = recipes.get(recipes.DEFAULT_RECIPE)
        model = build_model(recipe, data.spec(recipe.dataset))
    generator = model.sampling_generator
    with tempfile.TemporaryDirectory() as tmp:
        export_model(model, Path(tmp) / "export")
        folder = Path(tmp) / "export"
        served = tf.saved_model.load(str(folder / "generator")).signatures["serving_default"]
        default = ort.InferenceSession(str(folder / "generator.onnx"), providers=["CPUExecutionProvider"])
        tuned = tuned_session(folder / "generator.onnx")

        print(f"generator of {type(model).__name__}, latent {model.latent_dim}, image {model.image_shape}")
        print(
            f"{'batch':>6} {'runtime':<26}{'ms/call':>10}{'images/s':>11}"
            f"{'x SavedModel':>14}{'max |diff|':>12}"
        )
        for batch, repeats in ((1, args.repeats), (256, max(10, args.repeats // 20))):
            z = np.random.default_rng(0).standard_normal((batch, model.latent_dim)).astype(np.float32)
            z_tf = tf.constant(z)
            reference = generator(z, training=False).numpy()
            runs = {
                "Keras (eager call)": lambda z=z: generator(z, training=False).numpy(),
                "SavedModel (TensorFlow)": lambda z_tf=z_tf: served(z=z_tf)["image"].numpy(),
                "onnxruntime, default": lambda z=z: default.run(["image"], {"z": z})[0],
                "onnxruntime, tuned": lambda z=z: tuned.run(["image"], {"z": z})[0],
            }
            seconds = {name: timed(fn, repeats) for name, fn in runs.items()}
            for name, fn in runs.items():
                diff = float(np.max(np.abs(fn() - reference)))
                ratio = seconds["SavedModel (TensorFlow)"] / seconds[name]
                print(f"{batch:>6} {name:<26}{seconds[name] * 1e3:>10.3f}{batch / seconds[name]:>11.0f}"
                      f"{ratio:>14.2f}{diff:>12.2g}")  # fmt: skip


if __name__ == "__main__":
    main()
