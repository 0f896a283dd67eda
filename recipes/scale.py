"""Where and how a run computes: tf.distribute strategy, mixed precision, XLA.

Only TensorFlow's own machinery: the strategy's scope holds the variables, Keras
distributes the dataset and reduces the step's results across replicas.
"""

import json
import os
from pathlib import Path

import keras
import tensorflow as tf

from zoo.errors import ZooError, first_line

STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker", "tpu")


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """auto: mirrored over the GPUs when there are several, else one device.

    multi-worker reads the cluster from TF_CONFIG, as TensorFlow documents (create it
    before TensorFlow runs anything); tpu finds the TPU through TPUClusterResolver.
    """
    if name not in STRATEGIES:
        raise ZooError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one-device"
    if name == "one-device":
        return tf.distribute.get_strategy()  # the default strategy: one device, no overhead
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return _multi_worker()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as e:
        raise ZooError(f"no TPU found: {e}") from e
    return tf.distribute.TPUStrategy(resolver)


_PACK_BYTES = 32 * 1024 * 1024


def _multi_worker() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy over the cluster TF_CONFIG names, checked first."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ZooError("--strategy multi-worker needs TF_CONFIG describing the cluster (see docs/scaling.md)")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        tasks = cluster[task["type"]]
        address = tasks[int(task["index"])]
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise ZooError(
            f"TF_CONFIG is not a cluster and a task in it ({type(e).__name__}: {e}); "
            'expected {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}'
        ) from e
    try:
        # Gradients all-reduced in packs, not one collective per variable (a round trip each).
        options = tf.distribute.experimental.CommunicationOptions(bytes_per_pack=_PACK_BYTES)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as e:  # TensorFlow ran something before the strategy existed
        raise ZooError(f"cannot start the multi-worker strategy at {address}: {first_line(e)}") from e


def device_type(strategy: tf.distribute.Strategy) -> str:
    """'tpu', 'gpu' or 'cpu': what the strategy's first replica runs on."""
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "tpu"
    try:
        devices = strategy.extended.worker_devices
    except RuntimeError:  # the default strategy: whatever device TensorFlow places ops on
        devices = ["/gpu:0"] if tf.config.list_physical_devices("GPU") else ["/cpu:0"]
    return "gpu" if any("GPU" in d.upper() for d in devices) else "cpu"


def cpu_has_bfloat16() -> bool:
    """Whether this x86 CPU has bfloat16 arithmetic (AVX512_BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def mixed_precision_policy(device: str) -> str:
    """mixed_float16 on GPUs (with loss scaling), mixed_bfloat16 on TPUs and on CPUs that have it."""
    if device == "gpu":
        return "mixed_float16"
    if device == "cpu" and not cpu_has_bfloat16():
        raise ZooError(
            "--mixed-precision: this CPU has no bfloat16 arithmetic (AVX512_BF16/AMX), it would be slower"
        )
    return "mixed_bfloat16"


def default_mixed_precision(device: str) -> bool:
    """Mixed precision where it was measured to train faster at equal quality: CPUs with
    bfloat16 arithmetic (docs/measurements.md, "Quality at equal wall time": 300 s of the
    default recipe reach a lower FD in bfloat16). Not on GPUs and TPUs, where it was not measured here."""
    return device == "cpu" and cpu_has_bfloat16()


def default_jit(device: str) -> bool:
    """XLA where it was measured faster: not on CPU (oneDNN kernels beat XLA's there, see
    benchmarks/train_throughput.py); on GPUs and TPUs XLA fuses the step's small ops."""
    return device != "cpu"


class Precision:
    """Context that sets Keras' global dtype policy while a model is built and trained."""

    def __init__(self, policy: str):
        self.policy = policy

    def __enter__(self):
        self._previous = keras.mixed_precision.global_policy().name
        keras.mixed_precision.set_global_policy(self.policy)
        return self

    def __exit__(self, *exc):
        keras.mixed_precision.set_global_policy(self._previous)
        return False
