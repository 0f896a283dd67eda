"""The adversarial game as a `keras.Model` that trains with plain `model.fit`."""

import keras
import numpy as np
import tensorflow as tf

from zoo import contract, multi_worker
from zoo.contract import is_integer
from zoo.errors import ZooError
from zoo.models import losses, tricks


def feed(network: keras.Model, named: dict):
    """Named inputs -> the structure a functional network was built with (one tensor or a list)."""
    values = [named[t.name] for t in network.inputs]
    return values[0] if len(values) == 1 else values


@keras.saving.register_keras_serializable(package="zoo")
class AdversarialModel(keras.Model):
    """A generator G and a discriminator D trained against each other.

    Each `train_step` follows Algorithm 1 of Goodfellow et al. 2014: `d_steps` (their k)
    discriminator updates, each on its own minibatch of real images and fresh noise,
    then one generator update. The incoming batch is therefore dealt into `d_steps`
    equal minibatches (row i to minibatch i mod d_steps, so that each replica's share of
    a minibatch is what one device would give it); feed batches of `d_steps * m` to train
    on minibatches of `m`.

    G's inputs are the deployment contract's (`zoo.contract`): a variant declares its
    `num_classes` or `codes`, and training, sampling and every export draw them one way.
    Variants change the game through small hooks rather than by rewriting the step:
    `discriminator_inputs` (what D is called with), `discriminator_loss` /
    `generator_loss`, `discriminator_aux_loss` / `generator_aux_loss` (extra heads of D,
    e.g. a class or code predictor) and `score` (what d_real and d_fake report).

    The stabilizing tricks (`zoo.models.tricks`, one file each) are keyword arguments,
    off by default, that any variant can turn on: e.g. `label_smoothing=0.1`,
    `ema_decay=0.999`, `diff_augment="translation,cutout"`, `virtual_batch_norm=64`
    (`zoo.models.tricks.settings()` lists them all). The step calls each trick that is on at
    the phases it acts in. Losses are per-example and averaged over the global batch
    (`tf.nn.compute_average_loss`), so the update is the same on one replica or many.

    Args:
        generator: functional model; input `z` (+ conditioning), output an image in [-1, 1].
        discriminator: functional model; input `image` (+ label), output one logit per
            image first, then any extra heads.
        latent_dim: size of z; read from the generator when omitted.
        d_steps: discriminator updates per generator update (k).
        loss: name in `zoo.models.losses.LOSSES`, e.g. `"non_saturating"` or `"minimax"`.
        seed: seed of the noise sampled during training.
        **kwargs: trick settings, then `keras.Model` arguments (e.g. `name`).

    Example:
    >>> gan = zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=64, ema_decay=0.999)
    >>> gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    ...             g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    >>> gan.fit(zoo.data.load("fashion_mnist", batch_size=128), epochs=5)
    """

    num_classes: int | None = None  # set by class-conditional variants
    codes: dict | None = None  # set by variants with latent codes (InfoGAN)

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | None = None,
        d_steps: int = 1,
        loss: str = "non_saturating",
        seed: int | None = None,
        class_names=None,
        **kwargs,
    ):
        trick_settings = tricks.split(kwargs)
        super().__init__(**kwargs)
        _check(int(d_steps) >= 1, "d_steps must be at least 1", d_steps=d_steps)
        all_tricks = tricks.make(trick_settings)  # checks every setting
        for trick in all_tricks:  # readable as attributes (model.ema_decay), and in get_config
            for name, value in trick.config().items():
                object.__setattr__(self, name, value)
        object.__setattr__(self, "_tricks", [t for t in all_tricks if t.on])
        for trick in self.tricks:
            generator, discriminator = trick.networks(generator, discriminator)

        # === Networks ===
        self.generator = generator
        self.discriminator = discriminator

        # === Config ===
        self.latent_dim = int(latent_dim or generator.get_layer("z").batch_shape[-1])
        self.d_steps = int(d_steps)
        self.loss = loss
        self.seed = seed
        # The dataset's names for its classes (a `--label` by name, the web page's class picker).
        self.class_names = tuple(str(name) for name in class_names) if class_names else None
        self._generator_loss_fn, self._discriminator_loss_fn = losses.get(loss)
        self._smoothing = sum(t.smoothing() for t in self.tricks)
        self.seed_generator = keras.random.SeedGenerator(seed)

        # === Trick state (saved with the model, so a resumed run keeps it) ===
        for trick in self.tricks:
            trick.build(self)
        if any(t.needs_features for t in self.tricks):
            # D's outputs plus its `features` layer; kept out of tracking (it shares D's layers).
            with_features = keras.Model(
                discriminator.input,  # the structure D was built with (tensor or list)
                [*discriminator.outputs, discriminator.get_layer("features").output],
            )
            object.__setattr__(self, "_discriminator_with_features", with_features)

        # === Metrics ===
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.d_grad_norm_tracker = keras.metrics.Mean(name="d_grad_norm")
        self.g_grad_norm_tracker = keras.metrics.Mean(name="g_grad_norm")

        # G and D are built functional models, so this model is usable at once.
        self.built = True

    @property
    def tricks(self) -> list:
        """The tricks that are on (`zoo.models.tricks.Trick`), in the order they act."""
        return self._tricks

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.generator.outputs[0].shape[1:])

    @property
    def grid_columns(self) -> int | None:
        """Columns of a sample grid: one per class or code value, so each column is one."""
        if self.num_classes:
            return self.num_classes
        if self.codes and "code_cat" in self.codes:
            return self.codes["code_cat"]["size"]
        return None

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator users get: G, unless a trick keeps another (the EMA of G's weights)."""
        for trick in self.tricks:
            if (sampler := trick.sampler(self)) is not None:
                return sampler
        return self.generator

    @property
    def input_fields(self) -> dict:
        """G's inputs as the deployment contract describes them (the manifest's fields)."""
        named = self.num_classes and len(self.class_names or ()) == self.num_classes
        names = self.class_names if named else None
        return contract.input_fields(self.latent_dim, self.num_classes, self.codes, names)

    def weights_loaded(self) -> None:
        """Call after replacing G's weights (e.g. from a preset): tricks that keep a copy of G
        (its EMA) start again from them."""
        for trick in self.tricks:
            trick.weights_loaded(self)

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_real_tracker,
            self.d_fake_tracker,
            self.d_grad_norm_tracker,
            self.g_grad_norm_tracker,
        ]

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # === Compile ===

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        **kwargs,
    ):
        """Sets one optimizer per network; other arguments (e.g. jit_compile) go to Keras."""
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Optimizer state must exist before weights (and its slots) are restored.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self._compile_kwargs = kwargs

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        d_optimizer = keras.saving.deserialize_keras_object(config.pop("d_optimizer"))
        g_optimizer = keras.saving.deserialize_keras_object(config.pop("g_optimizer"))
        self.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, **config)

    # === Keras' train and test functions ===

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Built at construction. Keras reduces the first batch here, which fails under
        # multi-worker collectives for (images, labels) (zoo/multi_worker.py).
        if not multi_worker.in_use(self.distribute_strategy):
            super()._maybe_symbolic_build(iterator, data_batch)

    def make_train_function(self, force=False):
        if not multi_worker.in_use(self.distribute_strategy):
            return super().make_train_function(force)
        if self.train_function is None or force:  # Keras fails here (zoo/multi_worker.py)
            self.train_function = multi_worker.make_function(self, self.train_step)
        return self.train_function

    def make_test_function(self, force=False):
        if not multi_worker.in_use(self.distribute_strategy):
            return super().make_test_function(force)
        if self.test_function is None or force:
            self.test_function = multi_worker.make_function(self, self.test_step)
        return self.test_function

    # === Hooks a variant may override ===

    def replica_slice(self, draw, batch_size):
        """`draw(n)` for the global batch, this replica's rows of it.

        Every replica holds the same seed state, so each draws the same global tensor and
        keeps its own slice: the noise of a step does not depend on how many replicas
        share the batch (one device with batch B draws exactly what two with B/2 do).
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas == 1:
            return draw(batch_size)
        index = tf.distribute.get_replica_context().replica_id_in_sync_group
        return draw(batch_size * replicas)[index * batch_size : (index + 1) * batch_size]

    def training_random(self) -> dict:
        """The contract's source of random numbers (`zoo.contract.draw`) in a training step:
        keras.random from the model's seed, each draw made for the global batch and sliced."""

        def sliced(make):
            return lambda shape, *args: self.replica_slice(lambda n: make((n, *shape[1:]), *args), shape[0])

        seed = self.seed_generator
        return {
            "normal": sliced(lambda shape: keras.random.normal(shape, seed=seed)),
            "uniform": sliced(lambda shape, low, high: keras.random.uniform(shape, low, high, seed=seed)),
            "integers": sliced(
                lambda shape, high: keras.random.randint(shape, 0, high, seed=seed, dtype="int32")
            ),
        }

    def generator_inputs(self, batch_size, labels) -> dict:
        """G's named inputs for one training minibatch, drawn as the contract defines them:
        z ~ N(0, I), codes at random, and the data's labels for a conditional G."""
        if self.num_classes and labels is None:
            name = getattr(type(self), "variant_name", type(self).__name__)
            raise ValueError(f"{name} trains on (images, labels) batches; the data has no labels")
        return contract.draw(self.input_fields, batch_size, self.training_random(), labels, cycle=False)

    def discriminator_inputs(self, images, labels) -> dict:
        """D's named inputs; class-conditional variants add the labels."""
        del labels
        return {"image": images}

    def discriminator_loss(self, real_logits, fake_logits):
        """Per-example adversarial D loss, (B,), with the tricks' one-sided label smoothing."""
        return self._discriminator_loss_fn(real_logits, fake_logits, self._smoothing)

    def generator_loss(self, fake_logits):
        """Per-example adversarial G loss, (B,)."""
        return self._generator_loss_fn(fake_logits)

    def discriminator_aux_loss(self, real_extras, fake_extras, labels, g_inputs):
        """Per-example loss of D's extra heads, or None when it has none."""
        return None

    def generator_aux_loss(self, fake_extras, labels, g_inputs):
        """Per-example loss G pays through D's extra heads, or None."""
        return None

    def score(self, logits):
        """What d_real / d_fake report: D's probability that the images are real."""
        return tf.sigmoid(tf.cast(logits, tf.float32))

    def sample_inputs(self, n: int, seed: int = 0, **steering) -> dict[str, np.ndarray]:
        """G's named inputs as numpy from a seed (`zoo.contract.sample_inputs`): what an
        exported model is fed, in every runtime. Labels and categorical codes cycle through
        their values unless `steering` fixes them: `label` (index or class name), `codes`
        ({name: value} or ["name=value"]), `truncation` (a bound on z's components)."""
        try:
            return contract.sample_inputs(self.input_fields, n, seed, **steering)
        except contract.ContractError as e:
            raise ZooError(str(e)) from None

    # === The adversarial update ===

    def discriminate(self, images, labels, training):
        """(logits, extras): D's first output and the list of its other heads."""
        out = self.discriminator(
            feed(self.discriminator, self.discriminator_inputs(images, labels)), training=training
        )
        if isinstance(out, (list, tuple)):
            return out[0], list(out[1:])
        return out, []

    def discriminator_view(self, images):
        """Images as D sees them in training: each trick's `augment` phase in turn."""
        for trick in self.tricks:
            images = trick.augment(self, images)
        return images

    def discriminator_step(self, real, labels=None):
        """One update of D on a minibatch of real images and as many fakes."""
        batch_size = tf.shape(real)[0]
        g_inputs = self.generator_inputs(batch_size, labels)
        fake = self.generator(feed(self.generator, g_inputs), training=True)
        real_seen, fake_seen = self.discriminator_view(real), self.discriminator_view(fake)
        with tf.GradientTape() as tape:
            real_logits, real_extras = self.discriminate(real_seen, labels, training=True)
            fake_logits, fake_extras = self.discriminate(fake_seen, labels, training=True)
            per_example = _plus(
                self.discriminator_loss(real_logits, fake_logits),
                self.discriminator_aux_loss(real_extras, fake_extras, labels, g_inputs),
                *(trick.d_penalty(self, real_seen, fake_seen, labels) for trick in self.tricks),
            )
            loss = _plus(
                tf.nn.compute_average_loss(per_example), *(trick.d_regularizer(self) for trick in self.tricks)
            )
            scaled = self.d_optimizer.scale_loss(loss)
        grad_norm = _apply(tape, scaled, self.d_optimizer, self.discriminator.trainable_variables)
        for trick in self.tricks:
            trick.after_d_update(self)
        return {
            "loss": self._replica_mean(loss),
            "real": tf.reduce_mean(self.score(real_logits)),
            "fake": tf.reduce_mean(self.score(fake_logits)),
            "grad_norm": grad_norm,
        }

    def generator_step(self, batch_size, labels=None, real=None):
        """One update of G against the current (not updated) D; `real` is the last D
        minibatch, whose D features a trick may compare the fakes' with."""
        with tf.GradientTape() as tape:
            g_inputs = self.generator_inputs(batch_size, labels)
            fake_seen = self.discriminator_view(self.generator(feed(self.generator, g_inputs), training=True))
            fake_logits, fake_extras, features = self._discriminate_fakes(real, fake_seen, labels)
            per_example = _plus(
                self.generator_loss(fake_logits), self.generator_aux_loss(fake_extras, labels, g_inputs)
            )
            loss = _plus(
                tf.nn.compute_average_loss(per_example),
                *(trick.g_regularizer(self, features) for trick in self.tricks),
            )
            scaled = self.g_optimizer.scale_loss(loss)
        grad_norm = _apply(tape, scaled, self.g_optimizer, self.generator.trainable_variables)
        for trick in self.tricks:
            trick.after_g_update(self)
        return {
            "loss": self._replica_mean(loss),
            "grad_norm": grad_norm,
        }

    def _discriminate_fakes(self, real, fake_seen, labels):
        """(fake logits, fake extras, features): features is (D's `features` of real, of
        fake) when a trick needs them, else None, from one pass of D over the fakes."""
        network = getattr(self, "_discriminator_with_features", None)
        if network is None:
            return (*self.discriminate(fake_seen, labels, training=True), None)
        if real is None:
            raise ValueError("a trick needs D's features of the real minibatch: generator_step(real=...)")
        real_out = network(
            feed(network, self.discriminator_inputs(self.discriminator_view(real), labels)), training=True
        )
        fake_out = network(feed(network, self.discriminator_inputs(fake_seen, labels)), training=True)
        return fake_out[0], list(fake_out[1:-1]), (real_out[-1], fake_out[-1])

    def train_step(self, data):
        real, labels = _images_and_labels(data)
        self._check_batch(real)
        for trick in self.tricks:
            trick.begin_step(self)
        real_chunks = _deal(real, self.d_steps)
        label_chunks = _deal(labels, self.d_steps) if labels is not None else [None] * self.d_steps
        for real_chunk, label_chunk in zip(real_chunks, label_chunks, strict=True):
            d = self.discriminator_step(real_chunk, label_chunk)
            self.d_loss_tracker.update_state(d["loss"])
            self.d_real_tracker.update_state(d["real"])
            self.d_fake_tracker.update_state(d["fake"])
            self.d_grad_norm_tracker.update_state(d["grad_norm"])
        g = self.generator_step(tf.shape(real_chunks[-1])[0], label_chunks[-1], real_chunks[-1])
        self.g_loss_tracker.update_state(g["loss"])
        self.g_grad_norm_tracker.update_state(g["grad_norm"])
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        real, labels = _images_and_labels(data)
        g_inputs = self.generator_inputs(tf.shape(real)[0], labels)
        fake = self.generator(feed(self.generator, g_inputs), training=False)
        real_logits, _ = self.discriminate(real, labels, training=False)
        fake_logits, _ = self.discriminate(fake, labels, training=False)
        d_loss = tf.nn.compute_average_loss(self.discriminator_loss(real_logits, fake_logits))
        g_loss = tf.nn.compute_average_loss(self.generator_loss(fake_logits))
        self.d_loss_tracker.update_state(self._replica_mean(d_loss))
        self.g_loss_tracker.update_state(self._replica_mean(g_loss))
        self.d_real_tracker.update_state(tf.reduce_mean(self.score(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(self.score(fake_logits)))
        return {m.name: m.result() for m in self.metrics[:4]}

    @staticmethod
    def _replica_mean(global_average_share):
        # compute_average_loss divides by the global batch; this replica's own mean is
        # that share times the number of replicas (1 without a strategy).
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return global_average_share * tf.cast(replicas, global_average_share.dtype)

    def images_per_step(self, minibatch_size: int) -> int:
        """The batch `fit` must be fed for D updates on minibatches of `minibatch_size`: one
        minibatch per D update, `d_steps` of them per step."""
        return int(minibatch_size) * self.d_steps

    def _check_batch(self, real):
        size = real.shape[0]
        if size is not None and size % self.d_steps:
            raise ValueError(
                f"With d_steps={self.d_steps} each batch is split into {self.d_steps} "
                f"discriminator minibatches, so its size must be a multiple of {self.d_steps}. "
                f"Received: batch size {size}"
            )

    # === Sampling ===

    def generate(self, n: int, seed: int = 0, batch_size: int = 256, inputs: dict | None = None,
                 **steering) -> np.ndarray:  # fmt: skip
        """n images in [-1, 1], (n, H, W, C), from the sampling generator in inference mode.

        `steering` chooses what is drawn (`sample_inputs`: `label`, `codes`, `truncation`);
        `inputs` overrides some or all of what `sample_inputs(n, seed, **steering)` would draw;
        inputs of the wrong shape or type, or labels and codes outside their range, raise ZooError.
        """
        if not is_integer(n) or n < 0:
            raise ZooError(f"the number of samples must be a non-negative integer, got {n!r}")
        if not is_integer(seed) or seed < 0:
            raise ZooError(f"the seed must be a non-negative integer, got {seed!r}")
        if inputs is not None and not isinstance(inputs, dict):
            raise ZooError(f"inputs must be a dict of named arrays, got {type(inputs).__name__}")
        inputs = self._checked_inputs(n, {**self.sample_inputs(n, seed, **steering), **(inputs or {})})
        network = self.sampling_generator
        if n == 0:
            return np.zeros((0, *self.image_shape), np.float32)
        batches = []
        for i in range(0, n, batch_size):
            chunk = {k: v[i : i + batch_size] for k, v in inputs.items()}
            batches.append(keras.ops.convert_to_numpy(network(feed(network, chunk), training=False)))
        return np.concatenate(batches)

    def interpolate(self, start, end, frames: int = 16, **steering) -> np.ndarray:
        """`frames` images walking from one sample to another (`zoo.contract.interpolate`:
        slerp on z, lines on uniform codes). `start` and `end` are seeds (the first sample
        `generate(1, seed, **steering)` draws), saved latents (`contract.endpoint`: "FILE.npz"
        or "FILE.npz:K") or one sample's inputs (a dict); the first and last frames are those
        two samples."""
        try:
            fields = self.input_fields
            ends = [e if isinstance(e, dict) else contract.endpoint(fields, e, **steering)
                    for e in (start, end)]  # fmt: skip
            walk = contract.interpolate(fields, *ends, frames)
        except contract.ContractError as e:
            raise ZooError(str(e)) from None
        return self.generate(frames, inputs=walk)

    def _checked_inputs(self, n: int, inputs: dict) -> dict[str, np.ndarray]:
        """`inputs` as the arrays the sampling generator takes, or a ZooError saying what is wrong."""
        expected = {t.name: t for t in self.sampling_generator.inputs}
        unknown = sorted(map(str, set(inputs) - set(expected)))
        if unknown:
            takes = f"{type(self).__name__} takes {sorted(expected)}"
            raise ZooError(f"unknown generator inputs {unknown}; {takes}")
        categories = {"label": self.num_classes} | {
            name: code["size"] for name, code in (self.codes or {}).items() if code["kind"] == "categorical"
        }
        checked = {}
        for name, tensor in expected.items():
            try:
                value = np.asarray(inputs[name])
            except (ValueError, TypeError) as e:
                raise ZooError(f"{name} must be an array: {e}") from e
            shape = (n, *(int(d) for d in tensor.shape[1:]))
            if value.shape != shape:
                raise ZooError(f"{name} must have shape {shape} for {n} samples, got {value.shape}")
            if "int" in str(tensor.dtype):
                if not np.issubdtype(value.dtype, np.integer):
                    raise ZooError(f"{name} must hold integers, got dtype {value.dtype}")
                high = categories.get(name)
                if value.size and (value.min() < 0 or (high and value.max() >= high)):
                    bounds = f"0 to {high - 1}" if high else "non-negative"
                    raise ZooError(f"{name} must be {bounds}, got values from {value.min()} to {value.max()}")
                checked[name] = value.astype(np.int32)
            else:
                if not np.issubdtype(value.dtype, np.floating) or not np.isfinite(value).all():
                    raise ZooError(f"{name} must hold finite floats, got dtype {value.dtype}")
                checked[name] = value.astype(np.float32)
        return checked

    # === Presets ===

    def save_to_preset(self, preset_dir, replace: bool = False):
        """Writes this GAN as a preset folder in keras-hub's layout (`zoo.models.saving`);
        `zoo.from_preset(preset_dir)` loads it back."""
        from zoo.models import saving

        return saving.save_to_preset(self, preset_dir, replace)

    # === Config ===

    def get_config(self):
        config = {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "d_steps": self.d_steps,
            "loss": self.loss,
            "seed": self.seed,
        }
        if self.class_names:
            config["class_names"] = list(self.class_names)
        for setting in tricks.settings():
            config[setting.name] = getattr(self, setting.name)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


def _check(ok: bool, message: str, **received) -> None:
    if not ok:
        shown = ", ".join(f"{k}={v!r}" for k, v in received.items())
        raise ValueError(f"{message}. Received: {shown}")


def _plus(total, *terms):
    """`total` plus every term that is not None (a hook or trick that adds nothing returns None)."""
    for term in terms:
        if term is not None:
            total += term
    return total


def _deal(batch, k: int) -> list:
    """Rows i, i + k, i + 2k, ... for i < k: the k minibatches of one step.

    A contiguous split would differ across replicas: with the global batch laid out
    replica after replica, each replica's first chunk is not its share of one device's
    first chunk. Dealt rows are (global row i goes to minibatch i mod k, on any replica).
    """
    return [batch[i::k] for i in range(k)] if k > 1 else [batch]


def _images_and_labels(data):
    """fit() gives `images` or `(images, labels)`; labels may be absent."""
    if isinstance(data, (tuple, list)):
        images = data[0]
        labels = data[1] if len(data) > 1 else None
    else:
        images, labels = data, None
    return images, labels


def _apply(tape, scaled_loss, optimizer, variables):
    """Applies the gradient of `scaled_loss`; returns the norm of the update's gradient."""
    grads = tape.gradient(scaled_loss, variables)
    optimizer.apply_gradients(zip(grads, variables, strict=True))
    return _unscaled_global_norm(optimizer, grads)


def _unscaled_global_norm(optimizer, grads):
    """Norm of the gradient the optimizer applies: summed over replicas, loss scaling undone."""
    grads = [tf.cast(g, tf.float32) for g in grads if g is not None]
    if tf.distribute.get_strategy().num_replicas_in_sync > 1:
        # Each replica holds a share of the gradient; the update is their sum.
        grads = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
    norm = tf.linalg.global_norm(grads)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        norm = norm / tf.cast(optimizer.dynamic_scale, tf.float32)
    return norm
