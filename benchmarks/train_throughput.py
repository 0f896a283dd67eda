"""Training throughput of the default recipe against a plain Keras-example baseline.

Both train the same DCGAN networks at the same batch size in this process, alternating,
over several repeats; the script prints images/s, the median ratios, this machine's
dense matmul peak (float32 and bfloat16), the FLOPs of one training step (counted from
the layers' shapes) and the share of the peak each reaches, and how fast the input
pipeline alone runs (so that training never waits on it).

    .venv/bin/python benchmarks/train_throughput.py [--steps 60] [--repeats 5]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

import recipes
from recipes import scale
from recipes.training import build_model
from zoo import data


class BaselineGAN(keras.Model):
    """A GAN written the way the Keras DCGAN example writes it: one BCE on concatenated
    real and fake images with noisy labels, eager tf.data from numpy, no XLA."""

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated = self.generator(z)
        combined = tf.concat([generated, real_images], axis=0)
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights, strict=True))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading = tf.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(misleading, self.discriminator(self.generator(z)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}


def macs(network: keras.Model) -> int:
    """Multiply-accumulates of one forward pass of one example, from the layers' shapes."""
    total = 0
    for layer in network.layers:
        inner = getattr(layer, "layer", layer)  # spectral-norm wrappers
        if isinstance(inner, keras.layers.Conv2DTranspose):
            h, w, c = layer.input.shape[1:]
            total += h * w * c * inner.filters * np.prod(inner.kernel_size)
        elif isinstance(inner, keras.layers.Conv2D):
            h, w, _ = layer.output.shape[1:]
            total += h * w * layer.input.shape[-1] * inner.filters * np.prod(inner.kernel_size)
        elif isinstance(inner, keras.layers.Dense):
            total += layer.input.shape[-1] * inner.units
    return int(total)


def step_flops_per_image(generator, discriminator) -> float:
    """FLOPs of one adversarial step per image of the batch: D's step runs G forward and D
    forward + backward on real and fake; G's step runs G forward + backward and D forward +
    input-gradient backward. A backward pass costs two forwards (activations and weights)."""
    g, d = 2 * macs(generator), 2 * macs(discriminator)
    d_step = g + 2 * 3 * d
    g_step = 3 * g + 2 * d
    return float(d_step + g_step)


def matmul_peak(dtype, n: int = 4096, repeats: int = 10) -> float:
    """GFLOP/s of an n x n matmul in TensorFlow."""
    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)

    @tf.function
    def run(x):
        for _ in range(repeats):
            x = tf.linalg.matmul(x, a)
        return x

    run(a).numpy()
    start = time.perf_counter()
    run(a).numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def time_fit(model, dataset, steps: int) -> float:
    """images/s of `steps` training steps (the first fit of a model, which traces, is warm-up)."""
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps / (time.perf_counter() - start)


def project(recipe, spec, mixed: bool):
    policy = scale.mixed_precision_policy("cpu") if mixed else "float32"
    with scale.Precision(policy):
        return build_model(recipe, spec, jit_compile=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    args = parser.parse_args()

    recipe = recipes.get(recipes.DEFAULT_RECIPE)
    spec = data.spec(recipe.dataset)
    batch = args.batch_size or recipe.batch_size
    pipeline = data.load(recipe.dataset, "train", batch, repeat=True, seed=0)
    images = np.concatenate([x.numpy() for x, _ in data.load(recipe.dataset, batch_size=10_000)])
    baseline_data = tf.data.Dataset.from_tensor_slices(images).shuffle(1024).batch(batch, drop_remainder=True)
    baseline_data = baseline_data.repeat()

    keras.utils.set_random_seed(0)
    ours = project(recipe, spec, mixed=False)
    ours_bf16 = project(recipe, spec, mixed=True) if scale.cpu_has_bfloat16() else None
    networks = build_model(recipe, spec)
    baseline = BaselineGAN(networks.generator, networks.discriminator, recipe.latent_dim)
    baseline.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))

    contenders = {"baseline (Keras example)": (baseline, baseline_data), "gan-zoo float32": (ours, pipeline)}
    if ours_bf16 is not None:
        contenders["gan-zoo mixed_bfloat16"] = (ours_bf16, pipeline)
    for model, dataset in contenders.values():  # trace and compile once, off the clock
        model.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)
    rates = {name: [] for name in contenders}
    for _ in range(args.repeats):
        for name, (model, dataset) in contenders.items():
            rates[name].append(time_fit(model, dataset, args.steps) * batch)

    start = time.perf_counter()
    for _ in zip(range(args.steps * 5), pipeline, strict=False):
        pass
    pipeline_rate = args.steps * 5 * batch / (time.perf_counter() - start)

    peak32, peak16 = matmul_peak(tf.float32), matmul_peak(tf.bfloat16)
    flops = step_flops_per_image(networks.generator, networks.discriminator)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    base = medians["baseline (Keras example)"]
    print(
        f"default recipe {recipe.name}, batch {batch}, "
        f"{args.steps} steps x {args.repeats} repeats, alternating"
    )
    print(f"{'':28}{'images/s':>10}{'x baseline':>12}{'GFLOP/s':>10}{'of peak':>9}")
    for name, median in medians.items():
        peak = peak16 if "bfloat16" in name else peak32
        achieved = median * flops / 1e9
        print(f"{name:28}{median:>10.0f}{median / base:>12.2f}{achieved:>10.1f}{achieved / peak:>9.1%}")
    ratios = [o / b for o, b in zip(rates["gan-zoo float32"], rates["baseline (Keras example)"], strict=True)]
    print(f"median of per-repeat ratios, gan-zoo float32 / baseline: {statistics.median(ratios):.2f}")
    if ours_bf16 is not None:
        bf = [o / b for o, b in zip(rates["gan-zoo mixed_bfloat16"], rates["gan-zoo float32"], strict=True)]
        print(f"median of per-repeat ratios, bfloat16 / float32: {statistics.median(bf):.2f}")
        best = [o / b for o, b in zip(rates["gan-zoo mixed_bfloat16"], rates["baseline (Keras example)"],
                                      strict=True)]  # fmt: skip
        print(f"median of per-repeat ratios, gan-zoo bfloat16 / baseline: {statistics.median(best):.2f}")
    print(f"matmul peak: float32 {peak32:.0f} GFLOP/s, bfloat16 {peak16:.0f} GFLOP/s")
    print(f"one step: {flops / 1e6:.1f} MFLOP per image (counted from the layers' shapes)")
    headroom = pipeline_rate / medians["gan-zoo float32"]
    print(f"input pipeline alone: {pipeline_rate:.0f} images/s ({headroom:.0f}x what training consumes)")


if __name__ == "__main__":
    main()
