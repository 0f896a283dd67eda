"""Training throughput of the default recipe against a plain Keras-example baseline.

Both train the same DCGAN networks at the same batch size in this process, alternating,
over several repeats; the script prints images/s, the median ratios, this machine's
dense matmul peak (float32 and bfloat16) and memory bandwidth (a large array copy), the
FLOPs and bytes of one training step (counted from the layers' shapes), where each step
sits on that roofline, and how fast the input pipeline alone runs (so that training never
waits on it). With --profile DIR it writes, instead, a TensorBoard profiler trace of a few
steps of the baseline and of gan-zoo in float32 and bfloat16, prints where the time goes and
what the targets would need (convolutions and matmuls against everything else), then times
each convolution and dense layer alone in both precisions, beside a plain matmul doing the
layer's arithmetic (how much this machine's bfloat16 gains at the layers' own sizes).

    .venv/bin/python benchmarks/train_throughput.py [--steps 60] [--repeats 5] [--batch-size N]
    .venv/bin/python benchmarks/train_throughput.py --profile /tmp/profile   # then the table

With --data FOLDER it measures a folder source instead: the first preparation (every file
decoded and preprocessed once), a second one (from the prepared copy), the training
pipeline alone, and training the emoji recipe on the folder, side by side in one process:

    .venv/bin/python benchmarks/train_throughput.py \
        --data data/node_modules/emoji-datasource-google/img/google/64
"""

import argparse
import collections
import glob
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

import recipes
from recipes import scale
from recipes.trainer import build_model
from zoo import data
from zoo.models.layers import BatchNormalization as FusedBatchNormalization


class BaselineGAN(keras.Model):
    """A GAN written the way the Keras DCGAN example writes it: one BCE on concatenated
    real and fake images with noisy labels, eager tf.data from numpy, no XLA. Its networks
    are called with training=True, which the example (whose networks have no batch norm)
    leaves out: in Keras 3 a network called in train_step without it runs batch norm in
    inference mode, on the moving statistics, which is cheaper and does not train."""

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
        generated = self.generator(z, training=True)
        combined = tf.concat([generated, real_images], axis=0)
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined, training=True))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights, strict=True))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading = tf.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            fooled = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.loss_fn(misleading, fooled)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}


def stock(network: keras.Model) -> keras.Model:
    """The same network (architecture and weights) built from stock Keras layers, as a user
    of the Keras example would write it: Keras' own batch norm, not synchronized."""

    def clone(layer):
        if isinstance(layer, FusedBatchNormalization):
            return keras.layers.BatchNormalization.from_config({**layer.get_config(), "synchronized": False})
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(network, clone_function=clone)
    copy.set_weights(network.get_weights())
    return copy


def gemm_shape(layer, batch: int) -> tuple[int, int, int] | None:
    """(M, K, N) of the matmul that does a layer's forward arithmetic at this batch, or None
    for a layer without any: the same FLOPs as one plain GEMM (a transposed convolution:
    each input position times the kernel, all taps at once; a convolution: each output
    position's patch times the kernel)."""
    inner = getattr(layer, "layer", layer)  # spectral-norm wrappers
    if isinstance(inner, keras.layers.Conv2DTranspose):
        h, w, c = layer.input.shape[1:]
        return batch * h * w, c, inner.filters * int(np.prod(inner.kernel_size))
    if isinstance(inner, keras.layers.Conv2D):
        h, w, _ = layer.output.shape[1:]
        return batch * h * w, layer.input.shape[-1] * int(np.prod(inner.kernel_size)), inner.filters
    if isinstance(inner, keras.layers.Dense):
        return batch, layer.input.shape[-1], inner.units
    return None


def layer_macs(layer) -> int:
    """Multiply-accumulates of one layer's forward pass of one example: its GEMM's size."""
    shape = gemm_shape(layer, 1)
    return int(np.prod(shape)) if shape else 0


def macs(network: keras.Model) -> int:
    """Multiply-accumulates of one forward pass of one example, from the layers' shapes."""
    return sum(layer_macs(layer) for layer in network.layers)


def step_flops_per_image(generator, discriminator) -> float:
    """FLOPs of one adversarial step per image of the batch: D's step runs G forward and D
    forward + backward on real and fake; G's step runs G forward + backward and D forward +
    input-gradient backward. A backward pass costs two forwards (activations and weights)."""
    g, d = 2 * macs(generator), 2 * macs(discriminator)
    d_step = g + 2 * 3 * d
    g_step = 3 * g + 2 * d
    return float(d_step + g_step)


def gemm_rate(dtype, m: int, k: int, n: int, calls: int = 20, rounds: int = 5) -> float:
    """GFLOP/s of one (m, k) x (k, n) matmul, `calls` of them in a loop, median of rounds:
    what this machine's matmul kernels reach at one layer's size, as opposed to the peak."""
    a = tf.cast(tf.random.normal((m, k)), dtype)
    b = tf.cast(tf.random.normal((k, n)), dtype)

    @tf.function
    def run(a, b):
        total = tf.zeros((), dtype)
        for _ in tf.range(calls):  # a loop, so that no matmul is folded into another
            total += tf.linalg.matmul(a, b)[0, 0]
        return total

    run(a, b).numpy()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * m * k * n * calls / statistics.median(times) / 1e9


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


def memory_bandwidth(megabytes: int = 512, repeats: int = 5) -> float:
    """GB/s of a large array copy (bytes read plus bytes written), the best of `repeats`."""
    source = np.ones(megabytes * 2**20 // 4, np.float32)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best / 1e9


def _elements(network: keras.Model) -> tuple[int, int]:
    """(activation elements per example over all layers' outputs, parameters) of a network."""
    activations = sum(int(np.prod(layer.output.shape[1:])) for layer in network.layers[1:])
    return activations, int(network.count_params())


def step_bytes_per_image(generator, discriminator, batch: int, activation_bytes: int) -> float:
    """Bytes one adversarial step moves per image of the batch, a lower estimate: every
    layer's output written once and read once forward, and its gradient and the saved
    activation read and the input gradient written backward (3 more); weights read by each
    pass, and each optimizer step reading weights, gradients and Adam's two moments and
    writing back weights and moments (7 float32 values per parameter). D's step: G forward,
    D forward and backward on real and on fake images; G's step: G and D forward and
    backward (D's weights are not updated)."""
    a_g, p_g = _elements(generator)
    a_d, p_d = _elements(discriminator)
    forward, both = 2, 5  # passes over each activation: forward alone, forward and backward
    activations = forward * a_g + 2 * both * a_d + both * a_g + both * a_d
    weights = 4 * (2 * p_g + 3 * 2 * p_d + 7 * p_d) + 4 * (3 * p_g + 3 * p_d + 7 * p_g)
    return activation_bytes * activations + weights / batch


def roofline(
    name: str, images_per_s: float, flops: float, bytes_: float, peak: float, bandwidth: float
) -> str:
    """Where a step sits: its intensity (FLOP/byte), the bound min(peak, intensity x
    bandwidth), which of the two binds, and the share of that bound the step reaches."""
    intensity = flops / bytes_
    bound = min(peak, intensity * bandwidth)
    binds = "compute" if peak <= intensity * bandwidth else "memory"
    achieved = images_per_s * flops / 1e9
    share = achieved / bound
    return f"{name:28}{intensity:>10.1f}{bound:>10.0f}{binds:>9}{achieved:>10.1f}{share:>9.1%}"


def _category(name: str, op: str) -> str:
    if "BackpropInput" in op:
        return "conv backward (input)"
    if "BackpropFilter" in op:
        return "conv backward (filter)"
    if "Conv2D" in op:
        return "conv forward"
    if "MatMul" in op:
        return "matmul"
    if op == "Cast":
        return "casts"
    if "batch_normalization" in name:
        return "batch norm"
    if "adam" in name.lower() or "Variable" in op or op.startswith("ResourceApply"):
        return "optimizer and variables"
    return "elementwise and other"


def op_table(logdir: Path, top: int = 12) -> tuple[str, collections.Counter]:
    """The ops of a profiler trace by time on TensorFlow's executor threads (each op's kernel,
    its intra-op threads included), by category, and the idle time between ops (Python,
    dispatch, waits): the trace's span minus the time some op was running. Returns the
    table and the picoseconds by category."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # TensorFlow's own trace format

    space = xplane_pb2.XSpace()
    space.ParseFromString(
        Path(sorted(glob.glob(str(logdir / "plugins/profile/*/*.xplane.pb")))[-1]).read_bytes()
    )
    host = next(p for p in space.planes if p.name.startswith("/host:CPU"))
    spans, by_op, by_category = [], collections.Counter(), collections.Counter()
    for line in host.lines:
        if not line.name.startswith("tf_Compute"):
            continue
        for event in line.events:
            name = host.event_metadata[event.metadata_id].name
            if ":" not in name or "::" in name:
                continue
            op_name, op = name.rsplit(":", 1)
            start = line.timestamp_ns * 1000 + event.offset_ps
            spans.append((start, start + event.duration_ps))
            by_op[op] += event.duration_ps
            by_category[_category(op_name, op)] += event.duration_ps
    spans.sort()
    busy, end = 0, None
    for start, stop in spans:
        if end is None or start > end:
            busy, end = busy + stop - start, stop
        elif stop > end:
            busy, end = busy + stop - end, stop
    wall = spans[-1][1] - spans[0][0]
    total = sum(by_op.values())
    lines = [f"{'op':<40}{'ms':>9}{'share':>8}"]
    lines += [f"{op:<40}{ps / 1e9:>9.1f}{ps / total:>8.1%}" for op, ps in by_op.most_common(top)]
    lines += ["", f"{'category':<40}{'ms':>9}{'share':>8}"]
    lines += [f"{c:<40}{ps / 1e9:>9.1f}{ps / total:>8.1%}" for c, ps in by_category.most_common()]
    lines.append(
        f"{'idle between ops (of the span)':<40}{(wall - busy) / 1e9:>9.1f}{(wall - busy) / wall:>8.1%}"
    )
    return "\n".join(lines), by_category


ARITHMETIC = ("conv forward", "conv backward (input)", "conv backward (filter)", "matmul")


def profile(contenders: dict, logdir: Path, gemm_gain: float, steps: int = 20) -> None:
    """A profiler trace of `steps` training steps of each contender under logdir/<name>, and
    its table. The steps are the model's own train function called on the dataset's
    iterator, as `fit` calls it, without fit's start and end in the trace. Then what the
    targets would need, from the traces' op time per step: the convolutions and matmuls
    (what bfloat16 and faster kernels can speed up) against everything else."""
    split = {}
    for name, (model, dataset) in contenders.items():
        folder = logdir / name.replace(" ", "-")
        train, batches = model.make_train_function(), iter(dataset)
        train(batches)
        tf.profiler.experimental.start(str(folder))
        for _ in range(steps):
            logs = train(batches)
        float(next(iter(logs.values())))  # wait for the last step
        tf.profiler.experimental.stop()
        table, by_category = op_table(folder)
        print(f"\n{name}: {steps} steps, trace in {folder}\n{table}")
        arithmetic = sum(by_category[c] for c in ARITHMETIC) / steps / 1e9
        split[name] = (arithmetic, sum(by_category.values()) / steps / 1e9 - arithmetic)
    print(f"\nop time per step, ms{'convolutions+matmuls':>31}{'everything else':>17}")
    for name, (arithmetic, rest) in split.items():
        print(f"{name:<30}{arithmetic:>27.1f}{rest:>17.1f}")
    names = list(split)
    base, f32 = sum(split[names[0]]), split[names[1]]
    print(f"{names[1]} over the baseline if everything but convolutions and matmuls took no "
          f"time: at most {base / f32[0]:.2f}x (op time now {base / sum(f32):.2f}x)")  # fmt: skip
    if len(names) > 2:
        bf16 = split[names[2]]
        bound = sum(f32) / (f32[0] / gemm_gain + bf16[1])
        print(f"bfloat16 over float32 if bfloat16's convolutions and matmuls gained what a plain matmul "
              f"of G's largest layer gains here ({gemm_gain:.2f}x, as in the layer table below) and the "
              f"rest stayed as measured: "
              f"{bound:.2f}x (op time now {sum(f32) / sum(bf16):.2f}x)")  # fmt: skip


def layer_table(
    networks: list[keras.Model], batch: int, rounds: int = 5, calls: int = 20
) -> tuple[str, dict]:
    """Each convolution and dense layer alone, forward and backward at the step's batch, in
    float32 and in bfloat16 (a fresh layer with the same configuration): its GFLOP/s and how
    much bfloat16 gains, beside a plain matmul with the layer's forward arithmetic at this
    batch (`gemm_shape`) in both precisions. Shows which layers the bfloat16 kernels speed up,
    and how much this machine's bfloat16 gains at the layers' sizes rather than at the peak's.
    Returns the table and each layer's matmul gain."""

    def seconds(layer, shape, dtype):
        copy = layer.__class__.from_config({**layer.get_config(), "dtype": dtype, "name": None})
        copy.build(shape)
        x = tf.cast(tf.random.normal(shape), copy.compute_dtype)

        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.cast(copy(x), tf.float32)
                loss = tf.reduce_sum(y * y)
            return tape.gradient(loss, [x, *copy.trainable_variables])

        step(x)[0].numpy()
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                out = step(x)
            out[0].numpy()
            times.append((time.perf_counter() - start) / calls)
        return statistics.median(times)

    header = ("layer", "in -> out", "f32 ms", "GFLOP/s", "bf16 ms", "GFLOP/s", "gain")
    header += ("GEMM", "f32", "bf16", "gain")
    lines = ["{:<34}{:>26}{:>9}{:>9}{:>9}{:>9}{:>7}{:>20}{:>7}{:>7}{:>7}".format(*header)]
    gains = {}
    for network in networks:
        for layer in network.layers:
            if not isinstance(layer, keras.layers.Conv2D | keras.layers.Conv2DTranspose | keras.layers.Dense):
                continue
            alone = keras.Sequential([keras.Input(layer.input.shape[1:]), layer.__class__.from_config(
                {**layer.get_config(), "name": None})])  # fmt: skip
            flops = 3 * 2 * macs(alone) * batch  # forward, and backward for input and weights
            shape = (batch, *layer.input.shape[1:])
            f32, bf16 = seconds(layer, shape, "float32"), seconds(layer, shape, "mixed_bfloat16")
            name = f"{network.name} {type(layer).__name__}"
            io = " -> ".join("x".join(map(str, t.shape[1:])) for t in (layer.input, layer.output))
            m, k, n = gemm_shape(layer, batch)
            gemm32, gemm16 = gemm_rate(tf.float32, m, k, n), gemm_rate(tf.bfloat16, m, k, n)
            gains[layer.name] = gemm16 / gemm32
            lines.append(f"{name:<34}{io:>26}{f32 * 1e3:>9.2f}{flops / f32 / 1e9:>9.0f}"
                         f"{bf16 * 1e3:>9.2f}{flops / bf16 / 1e9:>9.0f}{f32 / bf16:>6.2f}x"
                         f"{f'{m}x{k}x{n}':>20}{gemm32:>7.0f}{gemm16:>7.0f}"
                         f"{gains[layer.name]:>6.2f}x")  # fmt: skip
    return "\n".join(lines), gains


class _Span(keras.callbacks.Callback):
    """Seconds from the first step's start to the last step's end of one fit."""

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start


def time_fit(model, dataset, steps: int) -> float:
    """Steps/s of `steps` training steps in one fit (the first fit of a model, which traces,
    is warm-up). Timed from the first step to the last, not to fit's return: when fit
    returns, its dataset iterator is torn down, which for gan-zoo's pipeline (a shuffle
    buffer of all 60,000 images) took about 2 s on every second call, a cost a training run
    pays once, not per step."""
    span = _Span()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[span])
    return steps / span.seconds


def project(recipe, spec, mixed: bool):
    policy = scale.mixed_precision_policy("cpu") if mixed else "float32"
    with scale.Precision(policy):
        return build_model(recipe, spec, jit_compile=False)


def folder_report(folder: str, recipe_name: str, steps: int, repeats: int, batch: int | None) -> None:
    """A folder's preparation and training pipeline beside training on it (images/s, medians)."""
    import tempfile

    recipe = recipes.get(recipe_name)
    options = data.options_of(recipe)
    with tempfile.TemporaryDirectory() as cache:  # a cold start: nothing prepared yet
        start = time.perf_counter()
        source = data.source(folder, options, data_dir=cache)
        first = time.perf_counter() - start
        start = time.perf_counter()
        data.source(folder, options, data_dir=cache)
        again = time.perf_counter() - start
    n = source.num_examples("train")
    batch = batch or recipe.batch_size
    keras.utils.set_random_seed(0)
    model = project(recipe, source.spec, mixed=scale.cpu_has_bfloat16())
    pipeline = data.load(source, "train", batch * model.d_steps, repeat=True, seed=0)
    model.fit(pipeline, steps_per_epoch=3, epochs=1, verbose=0)  # trace once, off the clock
    feed, train = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in zip(range(steps * 5), pipeline, strict=False):
            pass
        feed.append(steps * 5 * batch * model.d_steps / (time.perf_counter() - start))
        train.append(time_fit(model, pipeline, steps) * batch * model.d_steps)
    size = source.options.image_size
    print(f"folder {folder}: {n} images at {size}x{size}x{source.options.channels}, recipe {recipe.name}, "
          f"batch {batch}, {repeats} repeats")  # fmt: skip
    print(f"first preparation (decode + preprocess every file): {first:.1f} s, {n / first:.0f} images/s")
    print(f"second preparation (the prepared copy): {again:.2f} s")
    feed_rate, train_rate = statistics.median(feed), statistics.median(train)
    print(f"training pipeline alone: {feed_rate:.0f} images/s; training on it: {train_rate:.0f} images/s "
          f"({model.dtype_policy.name}); the pipeline runs {feed_rate / train_rate:.0f}x ahead")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    parser.add_argument("--profile", type=Path, help="write profiler traces here and print their top ops")
    parser.add_argument("--data", help="measure a folder's preparation and pipeline against training on it")
    parser.add_argument("--recipe", default="dcgan-noto-emoji", help="with --data: the recipe to train")
    args = parser.parse_args()
    if args.data:
        folder_report(args.data, args.recipe, args.steps, args.repeats, args.batch_size)
        return

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
    baseline = BaselineGAN(stock(networks.generator), stock(networks.discriminator), recipe.latent_dim)
    baseline.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))

    contenders = {"baseline (Keras example)": (baseline, baseline_data), "gan-zoo float32": (ours, pipeline)}
    if ours_bf16 is not None:
        contenders["gan-zoo mixed_bfloat16"] = (ours_bf16, pipeline)
    for model, dataset in contenders.values():  # trace and compile once, off the clock
        model.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)
    if args.profile:
        layers, gains = layer_table([ours.generator, ours.discriminator], batch)
        profile(contenders, args.profile, gains[max(ours.generator.layers, key=layer_macs).name])
        print(f"\nlayers alone, batch {batch}, forward and backward:\n{layers}")
        return
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
    bandwidth = memory_bandwidth()
    print(f"matmul peak: float32 {peak32:.0f} GFLOP/s, bfloat16 {peak16:.0f} GFLOP/s "
          f"({peak16 / peak32:.2f}x); memory bandwidth {bandwidth:.1f} GB/s (array copy)")  # fmt: skip
    print(f"one step: {flops / 1e6:.1f} MFLOP per image (counted from the layers' shapes)")
    print(f"\nroofline at batch {batch}:")
    print(f"{'':28}{'FLOP/B':>10}{'bound':>10}{'binds':>9}{'GFLOP/s':>10}{'of bound':>9}")
    for name, median in medians.items():
        bf16 = "bfloat16" in name
        moved = step_bytes_per_image(networks.generator, networks.discriminator, batch, 2 if bf16 else 4)
        print(roofline(name, median, flops, moved, peak16 if bf16 else peak32, bandwidth))
    headroom = pipeline_rate / medians["gan-zoo float32"]
    print(f"input pipeline alone: {pipeline_rate:.0f} images/s ({headroom:.0f}x what training consumes)")


if __name__ == "__main__":
    main()
