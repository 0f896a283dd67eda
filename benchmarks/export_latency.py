"""Generator latency at batch 1 and throughput at batch 256, side by side, for every
shipped preset's generator (or one run's): the Keras model, the exported SavedModel
(TensorFlow), the ONNX file as tf2onnx converts it and as the export writes it (transposed
convolutions rewritten as phase convolutions, `export.onnx_phases`), all onnxruntime
sessions with its default options; with ratios, parity, and each runtime's GFLOP/s against
this machine's float32 matmul peak measured in the same run (the generator's FLOPs counted
from its layers' shapes).

    .venv/bin/python benchmarks/export_latency.py [--run RUN_OR_PRESET] [--repeats 200]
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

from export.artifacts import _network_io, export_model, write_onnx
from zoo.models.adversarial import feed
from zoo.presets import locate, shipped


def tuned_session(path: Path) -> ort.InferenceSession:  # kept for reference; slower at batch 1 here
    """Options that matter on a small CPU: every graph optimization (including the x86
    NCHWc conv layout), one sequential stream, threads = cores, spinning threads."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def timed(fn, repeats: int, warmup: int = 3) -> float:
    """Median seconds per call, after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def litert_latency(folder: Path, generator, feeds: dict, repeats: int) -> None:
    """Batch-1 latency of the two LiteRT files (TensorFlow's interpreter) beside onnxruntime's
    default session, with each file's size and its max |diff| from Keras. `feeds` holds
    every input of the generator (z, and a label or code where it is conditional)."""
    reference = generator(feed(generator, feeds), training=False).numpy()
    session = ort.InferenceSession(str(folder / "generator.onnx"), providers=["CPUExecutionProvider"])
    runs = {"generator.onnx": lambda: session.run(["image"], feeds)[0]}
    for file in ("generator.tflite", "generator_dynamic_int8.tflite"):
        with warnings.catch_warnings():  # it says the interpreter moves to the ai-edge-litert package
            warnings.simplefilter("ignore", UserWarning)
            runner = tf.lite.Interpreter(model_path=str(folder / file)).get_signature_runner()
        runs[file] = lambda runner=runner: runner(**feeds)["image"]
    print(f"{'batch 1, file':<32}{'bytes':>11}{'ms/call':>10}{'max |diff|':>12}")
    for file, fn in runs.items():
        diff = float(np.max(np.abs(fn() - reference)))
        size = (folder / file).stat().st_size
        print(f"{file:<32}{size:>11,}{timed(fn, repeats) * 1e3:>10.3f}{diff:>12.2g}")


def side_by_side(runs: dict, repeats: int, rounds: int = 5) -> dict[str, float]:
    """Median seconds per call of each run, in `rounds` rounds that take the runs in turn
    (the order rotating), each timing repeats / rounds calls: a busy machine's slow spells
    fall on every run alike. Before each block a pause lets the previous runtime's spinning
    worker threads go to sleep (onnxruntime's spin after a call and would slow the next
    block on 2 cores). Returns the median over rounds of each round's median."""
    names = list(runs)
    for fn in runs.values():
        for _ in range(3):
            fn()
    per_round = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(0.2)
            per_round[name].append(timed(runs[name], max(3, repeats // rounds), warmup=2))
    return {name: statistics.median(values) for name, values in per_round.items()}


def _session(path: Path) -> ort.InferenceSession:
    """onnxruntime's default options (ORT_ENABLE_ALL, its NCHWc convolutions included)."""
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def compare(model, repeats: int, peak: float, label: str, litert: bool = False) -> dict:
    """One generator: Keras, SavedModel, ONNX as converted and ONNX rewritten (the export's),
    at batch 1 and 256 (with `litert`, also the LiteRT files at batch 1); prints the rows,
    returns {batch: {runtime: seconds}}."""
    generator = model.sampling_generator
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        written = export_model(model, folder)
        network, inputs, outputs = _network_io(model)["generator"]
        write_onnx(network, inputs, outputs, Path(tmp) / "converted.onnx", rewrite=False)
        served = tf.saved_model.load(str(folder / "generator")).signatures["serving_default"]
        sessions = {
            "onnx as converted": _session(Path(tmp) / "converted.onnx"),
            "onnx rewritten": _session(folder / "generator.onnx"),
        }
        flops = 2 * macs(generator)  # per image
        rewrite = {"layers": 0, "label_gathers": 0, **written["generator"].get("onnx_rewrite", {})}
        done = f"{rewrite['layers']} transposed convolutions, {rewrite['label_gathers']} label lookups"
        print(f"\n{label}: generator of {type(model).__name__}, {flops / 1e6:.1f} MFLOP per image; "
              f"rewritten: {done}")
        print(f"{'batch':>6} {'runtime':<24}{'ms/call':>10}{'images/s':>11}{'x SavedModel':>14}"
              f"{'GFLOP/s':>9}{'of peak':>9}{'max |diff|':>12}")  # fmt: skip
        results, first_feeds = {}, None
        for batch, count in ((1, repeats), (256, max(25, repeats // 10))):
            feeds = {k: v for k, v in model.sample_inputs(batch, 0).items()}
            feeds = {s["name"]: np.asarray(feeds[s["name"]], s["dtype"]) for s in inputs}
            first_feeds = first_feeds or feeds
            tensors = {k: tf.constant(v) for k, v in feeds.items()}
            reference = model.generate(batch, inputs=dict(feeds))
            runs = {
                "Keras (eager call)": lambda f=feeds: generator(feed(generator, f), training=False).numpy(),
                "SavedModel": lambda t=tensors: served(**t)["image"].numpy(),
                **{name: lambda f=feeds, s=sess: s.run(["image"], f)[0] for name, sess in sessions.items()},
            }
            seconds = side_by_side(runs, count)
            for name, fn in runs.items():
                diff = float(np.max(np.abs(fn() - reference)))
                achieved = batch * flops / seconds[name] / 1e9
                print(f"{batch:>6} {name:<24}{seconds[name] * 1e3:>10.3f}{batch / seconds[name]:>11.0f}"
                      f"{seconds['SavedModel'] / seconds[name]:>14.2f}{achieved:>9.1f}{achieved / peak:>9.0%}"
                      f"{diff:>12.2g}")  # fmt: skip
            results[batch] = seconds
        if litert:
            litert_latency(folder, generator, first_feeds, repeats)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="one trained run or preset (default: every shipped preset)")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    peak = matmul_peak(tf.float32)
    print(f"float32 matmul peak {peak:.0f} GFLOP/s (this run)")
    if args.run:
        trained = {str(args.run): locate(args.run).model()}
    else:
        trained = {name: locate(name).model() for name in shipped()}
    summary = {}
    for name, model in trained.items():
        summary[name] = compare(model, args.repeats, peak, name, litert=bool(args.run))
    print(f"\n{'generator':<26}{'b1 rewritten/SM':>16}{'b256 rewritten/SM':>18}"
          f"{'b1 rewritten/conv.':>19}{'b256 rewritten/conv.':>21}")  # fmt: skip
    for name, results in summary.items():
        ratios = [results[b]["SavedModel"] / results[b]["onnx rewritten"] for b in (1, 256)]
        ratios += [results[b]["onnx as converted"] / results[b]["onnx rewritten"] for b in (1, 256)]
        print(f"{name:<26}{ratios[0]:>16.2f}{ratios[1]:>18.2f}{ratios[2]:>19.2f}{ratios[3]:>21.2f}")
    print("targets: onnxruntime at least 8x the SavedModel at batch 1 and 1.5x at batch 256")


if __name__ == "__main__":
    main()
