"""The adversarial game as a `keras.Model` that trains with plain `model.fit`."""

import keras
import numpy as np
import tensorflow as tf

from zoo import losses


@keras.saving.register_keras_serializable(package="zoo")
class AdversarialModel(keras.Model):
    """A generator G and a discriminator D trained against each other.

    Each `train_step` follows Algorithm 1 of Goodfellow et al. 2014: `d_steps` (their k)
    discriminator updates, each on its own minibatch of real images and fresh noise,
    then one generator update. The incoming batch is therefore split into `d_steps`
    equal minibatches; feed batches of `d_steps * m` to train on minibatches of `m`.

    Variants change the game through small hooks (`discriminator_loss`,
    `generator_loss`, `sample_latent`, `generator_inputs`, `discriminator_inputs`)
    rather than by rewriting the step.

    Losses are per-example and averaged over the global batch
    (`tf.nn.compute_average_loss`), so the update is the same on one replica or many.

    Args:
        generator: functional model, input `z` of shape `(latent_dim,)`, output an
            image in [-1, 1].
        discriminator: functional model, input an image, output one logit per image.
        latent_dim: size of z; read from the generator when omitted.
        d_steps: discriminator updates per generator update (k).
        loss: name in `zoo.losses.LOSSES`, e.g. `"non_saturating"` or `"minimax"`.
        label_smoothing: one-sided; the real target becomes `1 - label_smoothing`.
        seed: seed of the noise sampled during training.

    Example:
    >>> gan = zoo.build("dcgan", image_shape=(28, 28, 1), latent_dim=64)
    >>> gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    ...             g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    >>> gan.fit(zoo.data.load("fashion_mnist", batch_size=128), epochs=5)
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | None = None,
        d_steps: int = 1,
        loss: str = "non_saturating",
        label_smoothing: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(d_steps) < 1:
            raise ValueError(f"d_steps must be at least 1. Received: d_steps={d_steps}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing}"
            )

        # === Networks ===
        self.generator = generator
        self.discriminator = discriminator

        # === Config ===
        self.latent_dim = int(latent_dim or generator.inputs[0].shape[-1])
        self.d_steps = int(d_steps)
        self.loss = loss
        self.label_smoothing = float(label_smoothing)
        self.seed = seed
        self._generator_loss_fn, self._discriminator_loss_fn = losses.get(loss)
        self.seed_generator = keras.random.SeedGenerator(seed)

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
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.generator.outputs[0].shape[1:])

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

    # === Hooks a variant may override ===

    def sample_latent(self, batch_size):
        """Noise for G; (B, latent_dim) standard normal."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def generator_inputs(self, batch_size, labels):
        """What G is called with; conditional variants add the labels."""
        del labels
        return self.sample_latent(batch_size)

    def discriminator_inputs(self, images, labels):
        """What D is called with; conditional variants add the labels."""
        del labels
        return images

    def discriminator_loss(self, real_logits, fake_logits):
        """Per-example D loss, (B,)."""
        return self._discriminator_loss_fn(real_logits, fake_logits, self.label_smoothing)

    def generator_loss(self, fake_logits):
        """Per-example G loss, (B,)."""
        return self._generator_loss_fn(fake_logits)

    # === The adversarial update ===

    def discriminator_step(self, real, labels=None):
        """One update of D on a minibatch of real images and as many fakes."""
        batch_size = tf.shape(real)[0]
        fake = self.generator(self.generator_inputs(batch_size, labels), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(self.discriminator_inputs(real, labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=True)
            loss = tf.nn.compute_average_loss(self.discriminator_loss(real_logits, fake_logits))
            scaled = self.d_optimizer.scale_loss(loss)
        variables = self.discriminator.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.d_optimizer.apply_gradients(zip(grads, variables, strict=True))
        return {
            "loss": self._replica_mean(loss),
            "real": tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            "fake": tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))),
            "grad_norm": _unscaled_global_norm(self.d_optimizer, grads),
        }

    def generator_step(self, batch_size, labels=None):
        """One update of G against the current (not updated) D."""
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_inputs(batch_size, labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=True)
            loss = tf.nn.compute_average_loss(self.generator_loss(fake_logits))
            scaled = self.g_optimizer.scale_loss(loss)
        variables = self.generator.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.g_optimizer.apply_gradients(zip(grads, variables, strict=True))
        return {
            "loss": self._replica_mean(loss),
            "grad_norm": _unscaled_global_norm(self.g_optimizer, grads),
        }

    def train_step(self, data):
        real, labels = _images_and_labels(data)
        self._check_batch(real)
        real_chunks = tf.split(real, self.d_steps)
        label_chunks = (
            tf.split(labels, self.d_steps) if labels is not None else [None] * self.d_steps
        )
        for real_chunk, label_chunk in zip(real_chunks, label_chunks, strict=True):
            d = self.discriminator_step(real_chunk, label_chunk)
            self.d_loss_tracker.update_state(d["loss"])
            self.d_real_tracker.update_state(d["real"])
            self.d_fake_tracker.update_state(d["fake"])
            self.d_grad_norm_tracker.update_state(d["grad_norm"])
        g = self.generator_step(tf.shape(real_chunks[-1])[0], label_chunks[-1])
        self.g_loss_tracker.update_state(g["loss"])
        self.g_grad_norm_tracker.update_state(g["grad_norm"])
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        real, labels = _images_and_labels(data)
        batch_size = tf.shape(real)[0]
        fake = self.generator(self.generator_inputs(batch_size, labels), training=False)
        real_logits = self.discriminator(self.discriminator_inputs(real, labels), training=False)
        fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=False)
        d_loss = tf.nn.compute_average_loss(self.discriminator_loss(real_logits, fake_logits))
        g_loss = tf.nn.compute_average_loss(self.generator_loss(fake_logits))
        self.d_loss_tracker.update_state(self._replica_mean(d_loss))
        self.g_loss_tracker.update_state(self._replica_mean(g_loss))
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return {m.name: m.result() for m in self.metrics[:4]}

    @staticmethod
    def _replica_mean(global_average_share):
        # compute_average_loss divides by the global batch; this replica's own mean is
        # that share times the number of replicas (1 without a strategy).
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return global_average_share * tf.cast(replicas, global_average_share.dtype)

    def _check_batch(self, real):
        size = real.shape[0]
        if size is not None and size % self.d_steps:
            raise ValueError(
                f"With d_steps={self.d_steps} each batch is split into {self.d_steps} "
                f"discriminator minibatches, so its size must be a multiple of {self.d_steps}. "
                f"Received: batch size {size}"
            )

    # === Sampling ===

    def sample_inputs(self, n: int, seed: int = 0) -> dict[str, np.ndarray]:
        """Generator inputs as numpy, by name, from a numpy seed (what an exported model takes)."""
        rng = np.random.default_rng(seed)
        return {"z": rng.standard_normal((n, self.latent_dim)).astype(np.float32)}

    def generate(self, n: int, seed: int = 0, batch_size: int = 256) -> np.ndarray:
        """n images in [-1, 1], (n, H, W, C), with G in inference mode."""
        # Named inputs, in the order (and structure) the functional generator was built with.
        arrays = [self.sample_inputs(n, seed)[t.name] for t in self.generator.inputs]
        batches = []
        for i in range(0, n, batch_size):
            chunk = [a[i : i + batch_size] for a in arrays]
            out = self.generator(chunk[0] if len(chunk) == 1 else chunk, training=False)
            batches.append(keras.ops.convert_to_numpy(out))
        return np.concatenate(batches)

    # === Config ===

    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "d_steps": self.d_steps,
            "loss": self.loss,
            "label_smoothing": self.label_smoothing,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


def _images_and_labels(data):
    """fit() gives `images` or `(images, labels)`; labels may be absent."""
    if isinstance(data, (tuple, list)):
        images = data[0]
        labels = data[1] if len(data) > 1 else None
    else:
        images, labels = data, None
    return images, labels


def _unscaled_global_norm(optimizer, grads):
    """Global gradient norm as the optimizer will apply it (loss scaling undone)."""
    norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads if g is not None])
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        norm = norm / tf.cast(optimizer.dynamic_scale, tf.float32)
    return norm
