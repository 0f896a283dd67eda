"""Generator latency at batch 1 and throughput at batch 256, side by side:
the Keras model, the exported SavedModel (TensorFlow) and the exported ONNX file
(onnxruntime, default and tuned session options), with ratios and their parity, and
each runtime's GFLOP/s against this machine's float32 matmul peak measured in the same
run (the generator's FLOPs counted from its layers' shapes): the peak bounds what any
float32 runtime can reach, so it says how much room a target ratio leaves.

    .venv/bin/python benchmarks/export_latency.py [--run RUN] [--repeats 200]

Without --run it exports the default recipe's generator, untrained (speed does not
depend on the weights).
"""

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import onnxruntime as ort
import tensorflow as tf
from train_throughput import macs, matmul_peak  # this folder is on sys.path when run as a script

import recipes
from export.artifacts import export_model
from recipes.training import build_model
from zoo import data
from zoo.presets import locate


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


def litert_latency(folder: Path, generator, latent_dim: int, repeats: int) -> None:
    """Batch-1 latency of the two LiteRT files (TensorFlow's interpreter) beside onnxruntime's
    default session, with each file's size and its max |diff| from Keras."""
    z = np.random.default_rng(0).standard_normal((1, latent_dim)).astype(np.float32)
    reference = generator(z, training=False).numpy()
    session = ort.InferenceSession(str(folder / "generator.onnx"), providers=["CPUExecutionProvider"])
    runs = {"generator.onnx": lambda: session.run(["image"], {"z": z})[0]}
    for file in ("generator.tflite", "generator_dynamic_int8.tflite"):
        with warnings.catch_warnings():  # it says the interpreter moves to the ai-edge-litert package
            warnings.simplefilter("ignore", UserWarning)
            runner = tf.lite.Interpreter(model_path=str(folder / file)).get_signature_runner()
        runs[file] = lambda runner=runner: runner(z=z)["image"]
    print(f"{'batch 1, file':<32}{'bytes':>11}{'ms/call':>10}{'max |diff|':>12}")
    for file, fn in runs.items():
        diff = float(np.max(np.abs(fn() - reference)))
        size = (folder / file).stat().st_size
        print(f"{file:<32}{size:>11,}{timed(fn, repeats) * 1e3:>10.3f}{diff:>12.2g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run", type=Path, help="a trained run directory (default: a fresh default generator)"
    )
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    if args.run:
        model = locate(args.run).model()
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

        flops = 2 * macs(generator)  # per image
        peak = matmul_peak(tf.float32)
        print(f"generator of {type(model).__name__}, latent {model.latent_dim}, image {model.image_shape}")
        print(f"{flops / 1e6:.1f} MFLOP per image; float32 matmul peak {peak:.0f} GFLOP/s")
        print(
            f"{'batch':>6} {'runtime':<26}{'ms/call':>10}{'images/s':>11}"
            f"{'x SavedModel':>14}{'GFLOP/s':>9}{'of peak':>9}{'max |diff|':>12}"
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
                achieved = batch * flops / seconds[name] / 1e9
                print(f"{batch:>6} {name:<26}{seconds[name] * 1e3:>10.3f}{batch / seconds[name]:>11.0f}"
                      f"{ratio:>14.2f}{achieved:>9.1f}{achieved / peak:>9.0%}{diff:>12.2g}")  # fmt: skip
            target = 8.0 if batch == 1 else 1.5  # the targets set for this benchmark
            needed = target * batch * flops / seconds["SavedModel (TensorFlow)"] / 1e9
            print(f"{'':>6} {target:g}x the SavedModel: {needed:.0f} GFLOP/s = {needed / peak:.0%} of peak")
        litert_latency(folder, generator, model.latent_dim, args.repeats)


if __name__ == "__main__":
    main()
