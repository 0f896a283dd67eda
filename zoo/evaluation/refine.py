"""Refinement: improve a sample instead of discarding it.

Discriminator Driven Latent Sampling (Che et al. 2020) moves z by Langevin dynamics on the
energy E(z) = ||z||^2 / 2 - l(G(z)), l the judge's calibrated logit: a step follows the
judge uphill, the prior's pull keeps z where G was trained, and the noise keeps the samples
spread (plain gradient ascent, `noise=0`, collapses them toward the judge's favourite
modes). Labels and codes stay as drawn: a conditional sample keeps its class, an InfoGAN
sample its codes.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from zoo.errors import ZooError


@dataclasses.dataclass(frozen=True)
class Refinement:
    """Langevin steps z <- clip(z - step_size / 2 * grad E(z) + noise * sqrt(step_size) * eta).

    Attributes:
        steps: how many steps (0 leaves z as drawn).
        step_size: epsilon of the Langevin update.
        noise: scale of the Gaussian noise eta (1 is Langevin dynamics, 0 gradient descent on E).
        bound: each coordinate of z is kept in [-bound, bound], near the prior.
    """

    steps: int = 20
    step_size: float = 0.01
    noise: float = 1.0
    bound: float = 3.0

    def __post_init__(self):
        if self.steps < 0 or not self.step_size > 0 or self.noise < 0 or not self.bound > 0:
            raise ZooError(f"refinement needs steps >= 0, step_size > 0, noise >= 0, bound > 0; got {self}")


def energy_gradient(model, judge):
    """A function (z, other inputs) -> (dE/dz, calibrated logit) for the model's sampling
    generator and the judge's scorer, traced once."""
    generator = model.sampling_generator
    names = [t.name for t in generator.inputs]

    @tf.function(reduce_retracing=True)
    def gradient(z, others):
        with tf.GradientTape() as tape:
            tape.watch(z)
            inputs = [z if name == "z" else others[name] for name in names]
            images = generator(inputs if len(inputs) > 1 else inputs[0], training=False)
            logit = tf.reshape(tf.cast(judge.scorer(images, training=False), tf.float32), [-1])
            logit = logit / judge.temperature + judge.bias
            total = tf.reduce_sum(0.5 * tf.reduce_sum(tf.square(z), axis=1) - logit)  # inside the tape
        return tape.gradient(total, z), logit

    return gradient


def refine_inputs(model, judge, inputs: dict, refinement: Refinement, seed: int = 0,
                  batch_size: int = 256) -> dict:  # fmt: skip
    """`inputs` with z moved by the refinement's steps; every other input unchanged. The
    noise comes from `numpy.random.default_rng([seed, 0x4EF])`, a batch at a time."""
    if refinement.steps == 0:
        return dict(inputs)
    gradient = energy_gradient(model, judge)
    rng = np.random.default_rng([seed, 0x4EF])
    z = np.array(inputs["z"], np.float32)
    others = {k: np.asarray(v) for k, v in inputs.items() if k != "z"}
    scale = refinement.noise * np.sqrt(refinement.step_size)
    for start in range(0, len(z), batch_size):
        chunk = z[start : start + batch_size]
        rest = {k: tf.constant(v[start : start + batch_size]) for k, v in others.items()}
        for _ in range(refinement.steps):
            grad, _ = gradient(tf.constant(chunk), rest)
            step = chunk - 0.5 * refinement.step_size * grad.numpy()
            step = step + scale * rng.standard_normal(chunk.shape)
            chunk = np.clip(step, -refinement.bound, refinement.bound).astype(np.float32)
        z[start : start + batch_size] = chunk
    return {**inputs, "z": z}
