"""Run in its own process (logical devices must be set before TensorFlow starts):
one training step of a variant on one device and under MirroredStrategy on two logical
CPUs, from the same initial weights and data; prints the largest differences as JSON."""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tests import helpers  # noqa: E402


def one_step(strategy, variant):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = helpers.tiny(variant, d_steps=1)
    start = [w.numpy().copy() for w in model.weights]
    real, labels = helpers.real_batch(model, n=16)
    data = tf.data.Dataset.from_tensor_slices(real if labels is None else (real, labels)).batch(16)
    history = model.fit(data, epochs=1, verbose=0).history
    return start, [w.numpy() for w in model.weights], {k: v[-1] for k, v in history.items()}


variant = sys.argv[1]
start_1, single, logs_1 = one_step(tf.distribute.get_strategy(), variant)
start_2, mirrored, logs_2 = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), variant)
print(
    json.dumps(
        {
            "replicas": 2,
            "same_start": max(float(np.abs(a - b).max()) for a, b in zip(start_1, start_2, strict=True)),
            "weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored, strict=True)),
            "moved": max(float(np.abs(a - b).max()) for a, b in zip(start_1, single, strict=True)),
            "logs_single": logs_1,
            "logs_mirrored": logs_2,
        }
    )
)
