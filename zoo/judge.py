"""The judge: is a generated image good enough? A calibrated P(real), a threshold, a filter.

A judge is a scorer network (image -> logit) with a temperature T and bias b fitted on
held-out data, so that sigmoid(logit / T + b) is a calibrated probability that the image
is real (Guo et al. 2017; Platt 1999), and an acceptance threshold chosen for a target
precision.

The scorer is either the trained discriminator, or a critic trained after training on
held-out real images against the frozen generator's samples (the discriminator of a
finished GAN is tuned to the generator of the last step, not to the final one).
"""

import json
import math
import os
from pathlib import Path

import keras
import numpy as np
from scipy import optimize

import zoo.variants  # noqa: F401  (registers the variants for load_model)
from zoo.adversarial import AdversarialModel
from zoo.errors import ZooError, first_line
from zoo.files import save_keras, write_json

SOURCES = ("discriminator", "critic")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def expected_calibration_error(probabilities: np.ndarray, is_real: np.ndarray, bins: int = 10) -> float:
    """Sum over equal-width bins of |share real - mean probability|, weighted by bin size."""
    probabilities, is_real = np.asarray(probabilities), np.asarray(is_real, np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            error += in_bin.mean() * abs(is_real[in_bin].mean() - probabilities[in_bin].mean())
    return float(error)


def fit_calibration(logits: np.ndarray, is_real: np.ndarray) -> tuple[float, float]:
    """(T, b) minimizing the log loss of sigmoid(logit / T + b) on labelled held-out data.

    T is temperature scaling (Guo et al. 2017); the bias b (Platt scaling) matters for
    critics whose output is not centred on the decision boundary (least-squares, hinge,
    Wasserstein); for a discriminator trained with the logistic loss it stays near 0."""
    logits, y = np.asarray(logits, np.float64), np.asarray(is_real, np.float64)
    scale = max(float(np.std(logits)), 1e-6)  # start from unit-variance scores

    def nll(params):
        log_t, bias = params
        p = np.clip(_sigmoid(logits / (scale * np.exp(log_t)) + bias), 1e-12, 1 - 1e-12)
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    result = optimize.minimize(
        nll, x0=[0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9}
    )
    log_t, bias = result.x
    return float(scale * np.exp(log_t)), float(bias)


def threshold_for_precision(scores: np.ndarray, is_real: np.ndarray, target: float) -> float:
    """The lowest threshold whose accepted set is at least `target` real (accepting the most).

    When no threshold reaches the target, returns the smallest float above 1: no probability
    reaches it, so nothing is accepted, and it stays valid JSON (unlike infinity)."""
    order = np.argsort(-np.asarray(scores))
    sorted_scores, y = np.asarray(scores)[order], np.asarray(is_real, np.float64)[order]
    precision = np.cumsum(y) / np.arange(1, len(y) + 1)  # accepting the top i + 1
    reaching = np.nonzero(precision >= target)[0]
    if len(reaching) == 0:
        return math.nextafter(1.0, 2.0)
    return float(sorted_scores[reaching[-1]])


def critic_network(image_shape, width: int = 32) -> keras.Model:
    """A small convolutional critic, image -> logit, for post-hoc judging."""
    image = keras.Input(shape=image_shape, name="image")
    x = image
    for i in range(2):
        x = keras.layers.Conv2D(width * 2**i, 4, 2, padding="same")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    logit = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(image, logit, name="critic")


class Judge:
    """Scores images with a calibrated P(real) and accepts those above a threshold.

    Args:
        scorer: functional model with the single input `image`, returning one logit.
        temperature: divides the logit before the sigmoid.
        bias: added after that division (Platt scaling).
        threshold: minimal P(real) to accept an image.
        info: what built it (source, held-out sizes, ECE before and after calibration).
    """

    def __init__(
        self,
        scorer: keras.Model,
        temperature: float = 1.0,
        threshold: float = 0.5,
        info=None,
        bias: float = 0.0,
    ):
        if [t.name for t in scorer.inputs] != ["image"]:
            raise ZooError(
                f"a judge scores images alone; this network takes {[t.name for t in scorer.inputs]}"
            )
        self.scorer, self.temperature, self.threshold = scorer, float(temperature), float(threshold)
        self.bias = float(bias)
        self.info = dict(info or {})

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.scorer.inputs[0].shape[1:])

    # === Building ===

    @classmethod
    def from_discriminator(cls, model: AdversarialModel) -> "Judge":
        """D's first output as the scorer; needs a D that judges images without labels."""
        d = model.discriminator
        if [t.name for t in d.inputs] != ["image"]:
            raise ZooError(
                f"{type(model).__name__}'s discriminator also needs a label; use the critic judge instead"
            )
        return cls(keras.Model(d.input, d.outputs[0], name="judge_scorer"), info={"source": "discriminator"})

    @classmethod
    def train_critic(
        cls, model: AdversarialModel, real: np.ndarray, epochs: int = 5, batch_size: int = 128, seed: int = 0
    ) -> "Judge":
        """A fresh critic trained on `real` (held out from training) against as many samples."""
        keras.utils.set_random_seed(seed)
        fake = model.generate(len(real), seed=seed + 1)
        x = np.concatenate([real, fake]).astype(np.float32)
        y = np.concatenate([np.ones(len(real)), np.zeros(len(fake))]).astype(np.float32)
        critic = critic_network(model.image_shape)
        critic.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
        critic.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
        return cls(critic, info={"source": "critic", "critic_train_size": len(x)})

    def calibrate(self, real: np.ndarray, fake: np.ndarray, target_precision: float = 0.9) -> "Judge":
        """Fits the temperature, then the threshold, on held-out real and generated images."""
        logits = np.concatenate([self.logits(real), self.logits(fake)])
        is_real = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])
        before = expected_calibration_error(_sigmoid(logits), is_real)
        self.temperature, self.bias = fit_calibration(logits, is_real)
        probabilities = _sigmoid(logits / self.temperature + self.bias)
        self.threshold = threshold_for_precision(probabilities, is_real, target_precision)
        accepted = probabilities >= self.threshold
        self.info.update(
            calibration_size=len(logits),
            temperature=self.temperature,
            bias=self.bias,
            ece_before=before,
            ece_after=expected_calibration_error(probabilities, is_real),
            target_precision=target_precision,
            threshold=self.threshold,
            held_out_fake_acceptance=float(accepted[len(real) :].mean()),
            held_out_real_acceptance=float(accepted[: len(real)].mean()),
        )
        return self

    def choose_threshold(self, real: np.ndarray, fake: np.ndarray, target_precision: float) -> float:
        """Sets (and returns) the lowest threshold at which at least `target_precision` of the
        accepted held-out images are real, keeping the temperature."""
        scores = np.concatenate([self.scores(real), self.scores(fake)])
        is_real = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])
        self.threshold = threshold_for_precision(scores, is_real, target_precision)
        self.info.update(target_precision=target_precision, threshold=self.threshold)
        return self.threshold

    # === Judging ===

    def _check(self, images: np.ndarray) -> np.ndarray:
        try:
            images = np.asarray(images)
        except (ValueError, TypeError) as e:  # ragged nesting, or not numbers
            raise ZooError(f"the judge takes an array of images, got {type(images).__name__}: {e}") from e
        if images.ndim != 4 or tuple(images.shape[1:]) != self.image_shape:
            raise ZooError(f"the judge takes images of shape (N, {', '.join(map(str, self.image_shape))}), "
                           f"got {images.shape}")  # fmt: skip
        if not np.issubdtype(images.dtype, np.floating):
            raise ZooError(f"the judge takes float images in [-1, 1], got dtype {images.dtype}")
        outside = images.size and (images.min() < -1.001 or images.max() > 1.001)
        if not np.isfinite(images).all() or outside:
            raise ZooError("the judge takes float images in [-1, 1]; these lie outside it or are not finite")
        return images.astype(np.float32)

    def logits(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        images = self._check(images)
        if not len(images):
            return np.zeros(0, np.float32)
        return np.concatenate(
            [
                keras.ops.convert_to_numpy(self.scorer(images[i : i + batch_size], training=False)).reshape(
                    -1
                )
                for i in range(0, len(images), batch_size)
            ]
        )

    def scores(self, images: np.ndarray) -> np.ndarray:
        """Calibrated P(real) per image."""
        return _sigmoid(self.logits(images) / self.temperature + self.bias)

    def accept(self, images: np.ndarray) -> np.ndarray:
        """True for each image the judge finds good enough."""
        return self.scores(images) >= self.threshold

    def filter(
        self, model: AdversarialModel, n: int, seed: int = 0, max_draws: int = 50
    ) -> tuple[np.ndarray, float]:
        """Discriminator rejection sampling (Azadi et al. 2019) with the calibrated judge:
        draws samples, keeps those accepted, until n are kept. Returns (images, acceptance rate)."""
        kept, drawn, round_ = [], 0, 0
        while sum(len(k) for k in kept) < n:
            if drawn >= max_draws * n:
                raise ZooError(
                    f"the judge accepted {sum(map(len, kept))} of {drawn} samples; lower its threshold"
                )
            batch = model.generate(max(n, 256), seed=seed + 1000 * round_)
            kept.append(batch[self.accept(batch)])
            drawn, round_ = drawn + len(batch), round_ + 1
        images = np.concatenate(kept)[:n]
        return images, sum(map(len, kept)) / drawn

    # === Saving and export ===

    def as_model(self) -> keras.Model:
        """image -> p_real with the temperature folded in: the network that is exported."""
        image = keras.Input(shape=self.image_shape, name="image")
        logit = self.scorer(image)
        scaled = keras.layers.Rescaling(1.0 / self.temperature, offset=self.bias)(logit)
        p_real = keras.layers.Activation("sigmoid", name="p_real", dtype="float32")(scaled)
        return keras.Model(image, p_real, name="judge")

    def save(self, directory: str | os.PathLike) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_keras(self.scorer, directory / "judge.keras")
        meta = {
            "temperature": self.temperature,
            "bias": self.bias,
            "threshold": self.threshold,
            "info": self.info,
        }
        write_json(directory / "judge.json", meta)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Judge":
        directory = Path(directory)
        if not (directory / "judge.keras").is_file() or not (directory / "judge.json").is_file():
            raise ZooError(f"{directory} has no judge; build one with `ganzoo judge {directory} --fit`")
        meta_path = directory / "judge.json"
        try:
            meta = json.loads(meta_path.read_bytes())
            numbers = [float(meta[k]) for k in ("temperature", "threshold")] + [float(meta.get("bias", 0.0))]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ZooError(f"{meta_path} is corrupt ({type(e).__name__}); {_refit(directory)}") from e
        if not all(map(math.isfinite, numbers)) or numbers[0] <= 0:
            raise ZooError(f"{meta_path} holds an invalid calibration; {_refit(directory)}")
        try:
            scorer = keras.models.load_model(directory / "judge.keras", safe_mode=True)
        except Exception as e:  # a damaged archive, or one that asks to run code
            raise ZooError(
                f"cannot load {directory / 'judge.keras'}: {first_line(e)}; {_refit(directory)}"
            ) from e
        temperature, threshold, bias = numbers
        return cls(scorer, temperature, threshold, meta.get("info"), bias)


def _refit(directory: Path) -> str:
    return f"refit it with `ganzoo judge {directory.parent} --fit`"
