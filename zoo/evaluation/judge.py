"""The judge: is a generated image good enough? A calibrated P(real), a threshold, a filter.

A judge is a scorer network (image -> logit) with a temperature T and bias b fitted on
held-out data, so that sigmoid(logit / T + b) is a calibrated probability that the image
is real (Guo et al. 2017; Platt 1999), and acceptance rules fitted on held-out real and
generated images (`zoo.contract.RULES`): a precision target, a quantile of real images'
P(real), the same per class, a share rejected per class, and discriminator rejection
sampling. The per-class rules take each image's class from its label (conditional
variants) or from the project's classifier, so that filtering keeps the class proportions.
The rules' arithmetic is written once, in the deployment contract (`zoo.contract`) that ships in
every export folder; this module fits their parameters.

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

import zoo.models.variants  # noqa: F401  (registers the variants for load_model)
from zoo import contract
from zoo.errors import ZooError, first_line
from zoo.files import save_keras, write_json
from zoo.models.adversarial import AdversarialModel

SOURCES = ("discriminator", "critic")
RULES = contract.RULES
# Chosen by measurement (docs/judge.md; benchmarks/judge_rules.py): on the DCGAN preset,
# 5,000 samples, rejecting the lowest-scored 30% of each predicted class lowered the Frechet
# distance from 61.5 to 57.2 with all ten classes, at 71% acceptance; rejecting 10/40/50%
# gave 59.5/57.6/58.0, the global real-quantile rule 60.2, DRS 62.0 at 36%.
DEFAULT_RULE = "class-share"
REAL_QUANTILE = 0.1  # "at least as real-looking as 90% of real images"
CLASS_SHARE_REJECTED = 0.3  # the lowest-scored share of each class that class-share rejects
DRS_PERCENTILE = 80  # DRS's gamma: this percentile of F over held-out samples (Azadi et al. 2019)
MIN_PER_CLASS = 20  # fewer held-out images of a class than this: its threshold is the global one


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
        p = np.clip(contract.sigmoid(logits / (scale * np.exp(log_t)) + bias), 1e-12, 1 - 1e-12)
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
    """Scores images with a calibrated P(real) and accepts them under one of its rules.

    Args:
        scorer: functional model with the single input `image`, returning one logit.
        temperature: divides the logit before the sigmoid.
        bias: added after that division (Platt scaling).
        threshold: the precision rule's minimal P(real) (a judge fitted before the other
            rules existed has only this one).
        info: what built it (source, held-out sizes, ECE before and after calibration) and
            its rules: `rules` (each rule's parameters), `rule` (the default), `classes_from`
            ("label", "classifier" or None) and `acceptance` (each rule's acceptance rate on
            held-out real and generated images).
        classifier: image -> class logits, for the class rules of an unconditional GAN.
    """

    def __init__(
        self,
        scorer: keras.Model,
        temperature: float = 1.0,
        threshold: float = 0.5,
        info=None,
        bias: float = 0.0,
        classifier: keras.Model | None = None,
    ):
        if [t.name for t in scorer.inputs] != ["image"]:
            raise ZooError(
                f"a judge scores images alone; this network takes {[t.name for t in scorer.inputs]}"
            )
        self.scorer, self.temperature, self.threshold = scorer, float(temperature), float(threshold)
        self.bias = float(bias)
        self.info = dict(info or {})
        self.info.setdefault("rules", {"precision": {"threshold": self.threshold}})
        self.info.setdefault("rule", "precision")
        self.classifier = classifier

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.scorer.inputs[0].shape[1:])

    @property
    def rule(self) -> str:
        return self.info["rule"]

    @property
    def rules(self) -> dict:
        return self.info["rules"]

    @property
    def classes_from(self) -> str | None:
        return self.info.get("classes_from")

    @property
    def card(self) -> dict:
        """What the rules read (and the export's `judge_calibration`): the info, with the
        calibration and the precision rule's threshold as they stand now."""
        precision = {**self.rules.get("precision", {}), "threshold": self.threshold}
        return {**self.info, "rules": {**self.rules, "precision": precision}, "temperature": self.temperature,
                "bias": self.bias, "threshold": self.threshold}  # fmt: skip

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

    def calibrate(
        self,
        real: np.ndarray,
        fake: np.ndarray,
        target_precision: float = 0.9,
        real_classes: np.ndarray | None = None,
        fake_classes: np.ndarray | None = None,
        num_classes: int | None = None,
        classes_from: str | None = None,
        rule: str | None = None,
    ) -> "Judge":
        """Fits the temperature and every rule on the even-indexed held-out real and generated
        images, and measures each rule's acceptance on the odd-indexed ones (what it does to
        images it was not fitted on).

        `real_classes`, `fake_classes` (each image's class, in [0, num_classes)) enable the
        class rules; `classes_from` says where a new image's class will come from."""
        classed = real_classes is not None and fake_classes is not None
        fit_r, fit_f = real[0::2], fake[0::2]
        real_logits, fake_logits = self.logits(real), self.logits(fake)
        logits = np.concatenate([real_logits[0::2], fake_logits[0::2]])
        is_real = np.concatenate([np.ones(len(fit_r)), np.zeros(len(fit_f))])
        before = expected_calibration_error(contract.sigmoid(logits), is_real)
        self.temperature, self.bias = fit_calibration(logits, is_real)
        l_real, l_fake = (
            x.astype(np.float64) / self.temperature + self.bias for x in (real_logits, fake_logits)
        )
        p_real, p_fake = contract.sigmoid(l_real), contract.sigmoid(l_fake)
        probabilities = np.concatenate([p_real[0::2], p_fake[0::2]])
        self.threshold = threshold_for_precision(probabilities, is_real, target_precision)
        real_floor = float(np.quantile(p_real[0::2], REAL_QUANTILE))
        rules = {
            "precision": {"threshold": self.threshold, "target_precision": target_precision},
            "real-quantile": {"threshold": real_floor, "quantile": REAL_QUANTILE},
        }
        if classed:
            real_classes, fake_classes = np.asarray(real_classes), np.asarray(fake_classes)
            rules["class-real-quantile"] = {
                "quantile": REAL_QUANTILE,
                "thresholds": _per_class(
                    p_real[0::2], real_classes[0::2], num_classes, REAL_QUANTILE, real_floor
                ),
            }
            rules["class-share"] = {
                "rejected": CLASS_SHARE_REJECTED,
                "thresholds": _per_class(
                    p_fake[0::2], fake_classes[0::2], num_classes, CLASS_SHARE_REJECTED,
                    float(np.quantile(p_fake[0::2], CLASS_SHARE_REJECTED)),
                ),
            }  # fmt: skip
        fit_fake_logits = l_fake[0::2]
        max_logit = float(np.max(fit_fake_logits))
        gamma = float(np.percentile(contract.drs_f(fit_fake_logits, max_logit, 0.0), DRS_PERCENTILE))
        rules["drs"] = {"max_logit": max_logit, "gamma": gamma, "epsilon": 1e-6, "percentile": DRS_PERCENTILE}
        if rule is not None and rule not in rules:
            raise ZooError(f"the {rule!r} rule needs each image's class, and this judge has none")
        self.info.update(
            calibration_size=len(logits),
            temperature=self.temperature,
            bias=self.bias,
            ece_before=before,
            ece_after=expected_calibration_error(probabilities, is_real),
            target_precision=target_precision,
            threshold=self.threshold,
            rules=rules,
            rule=rule or (DEFAULT_RULE if classed else "real-quantile"),
            classes_from=classes_from if classed else None,
        )
        held_out = {"real": (l_real[1::2], None if not classed else real_classes[1::2]),
                    "generated": (l_fake[1::2], None if not classed else fake_classes[1::2])}  # fmt: skip
        self.info["acceptance"] = {
            name: {
                kind: float(contract.accepted(x, c, self.card, name, contract.drs_rng(0, 0)).mean())
                for kind, (x, c) in held_out.items()
            }
            for name in rules
        }
        self.info["held_out_real_acceptance"] = self.info["acceptance"][self.rule]["real"]
        self.info["held_out_fake_acceptance"] = self.info["acceptance"][self.rule]["generated"]
        return self

    def choose_threshold(self, real: np.ndarray, fake: np.ndarray, target_precision: float) -> float:
        """Sets (and returns) the precision rule's threshold: the lowest at which at least
        `target_precision` of the accepted held-out images are real, keeping the temperature."""
        scores = np.concatenate([self.scores(real), self.scores(fake)])
        is_real = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])
        self.threshold = threshold_for_precision(scores, is_real, target_precision)
        self.rules["precision"] = {"threshold": self.threshold, "target_precision": target_precision}
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
        return _batched(self.scorer, self._check(images), batch_size).reshape(-1)

    def calibrated_logits(self, images: np.ndarray) -> np.ndarray:
        """logit / T + b per image: the logit of the calibrated P(real), what the rules compare."""
        return self.logits(images).astype(np.float64) / self.temperature + self.bias

    def scores(self, images: np.ndarray) -> np.ndarray:
        """Calibrated P(real) per image."""
        return contract.sigmoid(self.calibrated_logits(images))

    def classes(self, images: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray | None:
        """Each image's class for the class rules: `labels` when classes come from labels,
        else the classifier's prediction (None for a judge without classes)."""
        if self.classes_from == "label":
            if labels is None:
                raise ZooError("this judge's class rules need each image's label")
            return np.asarray(labels)
        if self.classes_from == "classifier":
            if self.classifier is None:
                raise ZooError("this judge's class rules need the classifier, which did not load")
            return np.argmax(_batched(self.classifier, self._check(images), 500), axis=-1)
        return None

    def accept(
        self, images: np.ndarray, labels: np.ndarray | None = None, rule: str | None = None, rng=None
    ) -> np.ndarray:
        """True for each image the judge finds good enough under `rule` (default: its own);
        DRS draws from `rng` (a numpy Generator; default: seeded with 0)."""
        rule = rule or self.rule
        classes = self.classes(images, labels) if rule in contract.CLASS_RULES else None
        try:
            return contract.accepted(self.calibrated_logits(images), classes, self.card, rule,
                                     rng if rng is not None else contract.drs_rng(0, 0))  # fmt: skip
        except contract.ContractError as e:
            raise ZooError(str(e)) from e

    def filter(
        self, model: AdversarialModel, n: int, seed: int = 0, max_draws: int = 50, rule: str | None = None
    ) -> tuple[np.ndarray, float]:
        """Rejection sampling with the calibrated judge: draws rounds of max(n, 256) samples
        (round r from seed seed + 1000 r, as the exported sampler does), keeps those accepted,
        until n are kept. Returns (images, acceptance rate)."""

        def draw(round_: int) -> tuple[np.ndarray, np.ndarray]:
            inputs = model.sample_inputs(max(n, 256), seed=seed + 1000 * round_)
            batch = model.generate(len(inputs["z"]), inputs=inputs)
            return batch, self.accept(batch, inputs.get("label"), rule, contract.drs_rng(seed, round_))

        try:
            return contract.rejection_sample(n, draw, max_draws)
        except contract.ContractError as e:
            raise ZooError(str(e)) from e

    # === Saving and export ===

    def as_model(self) -> keras.Model:
        """image -> (p_real, logit), calibration folded in: the network that is exported.
        The rules compare the calibrated logit, which keeps its precision where float32
        P(real) rounds to 0 or 1."""
        image = keras.Input(shape=self.image_shape, name="image")
        logit = keras.layers.Rescaling(
            1.0 / self.temperature, offset=self.bias, name="logit", dtype="float32"
        )(self.scorer(image))
        p_real = keras.layers.Activation("sigmoid", name="p_real", dtype="float32")(logit)
        return keras.Model(image, [p_real, logit], name="judge")

    def save(self, directory: str | os.PathLike) -> None:
        """judge.keras (the scorer) and judge.json (calibration, rules); the classifier is the
        project's shipped one, named by `info["dataset"]`, and is not copied."""
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
            info = meta.get("info") or {}
            if not isinstance(info, dict) or not isinstance(info.get("rules", {}), dict):
                raise TypeError("info")
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
        classifier = None
        if info.get("classes_from") == "classifier":
            from zoo.evaluation.features import DomainClassifier

            classifier = DomainClassifier.shipped(info.get("dataset", "")).network
        temperature, threshold, bias = numbers
        return cls(scorer, temperature, threshold, info, bias, classifier)


def _batched(network: keras.Model, images: np.ndarray, batch_size: int) -> np.ndarray:
    if not len(images):
        return np.zeros((0, *network.outputs[0].shape[1:]), np.float32)
    return np.concatenate(
        [
            keras.ops.convert_to_numpy(network(images[i : i + batch_size], training=False))
            for i in range(0, len(images), batch_size)
        ]
    )


def _per_class(scores, classes, num_classes: int, quantile: float, fallback: float) -> list[float]:
    """The `quantile` of `scores` within each class; `fallback` for a class with too few."""
    return [
        float(np.quantile(scores[classes == c], quantile))
        if np.sum(classes == c) >= MIN_PER_CLASS
        else fallback
        for c in range(num_classes)
    ]


def _refit(directory: Path) -> str:
    return f"refit it with `ganzoo judge {directory.parent} --fit`"
