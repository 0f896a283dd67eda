"""Refinement: improve a sample instead of discarding it.

Discriminator Driven Latent Sampling (Che et al. 2020) moves z by Langevin dynamics on the
energy E(z) = ||z||^2 / 2 - l(G(z)), l the judge's calibrated logit: a step follows the
judge uphill, the prior's pull keeps z where G was trained, and the noise keeps the samples
spread (plain gradient ascent, `noise=0`, collapses them toward the judge's favourite
modes). Labels and codes stay as drawn: a conditional sample keeps its class, an InfoGAN
sample its codes.
"""

import contextlib
import dataclasses

import tensorflow as tf

from zoo import contract
from zoo.errors import ZooError


@dataclasses.dataclass(frozen=True)
class Refinement:
    """Langevin steps z <- clip(z - step_size / 2 * grad E(z) + noise * sqrt(step_size) * eta)
    (`zoo.contract.langevin`, which the exported sampler runs too).

    Attributes:
        steps: how many steps (0 leaves z as drawn).
        step_size: epsilon of the Langevin update.
        noise: scale of the Gaussian noise eta (1 is Langevin dynamics, 0 gradient descent on E).
        bound: each coordinate of z is kept in [-bound, bound], near the prior.
    """

    steps: int = 20
    step_size: float = contract.REFINE_STEP_SIZE
    noise: float = contract.REFINE_NOISE
    bound: float = contract.REFINE_BOUND

    def __post_init__(self):
        try:
            contract.check_refinement(self.steps, self.step_size, self.noise, self.bound)
        except contract.ContractError as e:
            raise ZooError(str(e)) from None


def energy(generator, scorer, temperature: float, bias: float):
    """A function of G's inputs (positionally, in G's order) -> {"gradient": dE/dz, "logit":
    the calibrated logit}: the refinement graph, traced by `refine_inputs` and exported as is
    (`export.artifacts`).

    The prior's part of the gradient is written out (d(||z||^2 / 2)/dz = z) and the tape
    differentiates the sum of the scorer's raw logits only, divided by T afterwards: the
    same gradient, with no broadcast or per-axis sum in the backward pass, which the ONNX
    converter could not express for a dynamic batch."""

    def gradient(*inputs):
        z = inputs[0]
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(z)
            images = generator(list(inputs) if len(inputs) > 1 else z, training=False)
            raw = tf.reshape(tf.cast(scorer(images, training=False), tf.float32), [-1])
            total = tf.reduce_sum(raw)
        return {"gradient": z - tape.gradient(total, z) / temperature, "logit": raw / temperature + bias}

    return gradient


def energy_gradient(model, judge):
    """`energy` for the model's sampling generator and the judge's scorer, as a tf.function
    of a dict of G's inputs."""
    return gradient_function(model.sampling_generator, judge.scorer, judge.temperature, judge.bias)


def gradient_function(generator, scorer, temperature: float, bias: float):
    """`energy` of these networks as a tf.function of a dict of G's inputs."""
    names = [t.name for t in generator.inputs]
    if names[0] != "z":
        raise ZooError(f"refinement moves z, G's first input; this G takes {names}")
    traced = tf.function(energy(generator, scorer, temperature, bias), reduce_retracing=True)
    return lambda inputs: traced(*[tf.constant(inputs[name]) for name in names])


@contextlib.contextmanager
def without_remapping():
    """Grappler's remapper off while gradient graphs are built: it tries to fuse each
    convolution with its bias and activation, fails where the activation's gradient reads
    the bias's output, and logs an error line (harmless: the graph runs unfused either way)."""
    before = tf.config.optimizer.get_experimental_options().get("remapping")
    tf.config.optimizer.set_experimental_options({"remapping": False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": True if before is None else before})


def refine_inputs(model, judge, inputs: dict, refinement: Refinement, seed: int = 0, gradient=None) -> dict:
    """`inputs` with z moved by the refinement's steps (`zoo.contract.langevin`); every other
    input unchanged. `gradient`: `energy_gradient(model, judge)` when the caller keeps one."""
    gradient = gradient or energy_gradient(model, judge)
    r = refinement
    with without_remapping():
        return contract.langevin(
            inputs,
            lambda block: gradient(block)["gradient"].numpy(),
            r.steps,
            r.step_size,
            r.noise,
            r.bound,
            seed,
        )
