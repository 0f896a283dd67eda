"""Evaluate a generator against real data, beside the floor of real data against itself.

The real test split is shuffled once and cut in halves A and B. Generated samples are
compared with A; the floor is B compared with A: what a perfect generator would score
with the same sample sizes, so every figure has a reference to be read against.
"""

import dataclasses

import numpy as np

from zoo import data
from zoo.errors import ZooError
from zoo.evaluation import distances, novelty
from zoo.evaluation.features import FeatureExtractor

FIGURES = ("frechet_distance", "kid", "inception_score", "precision", "recall", "class_kl", "classes_covered")


def real_test_images(source: "str | data.Source", seed: int = 0, labels: bool = False):
    """The source's reference split (its test split where it has one) as float images in
    [-1, 1], in a seeded random order (with `labels`, also their labels in the same order)."""
    return data.real_images(source, seed=seed, labels=labels)


def figures(real_features, fake_features, fake_logits, prior=None, labels=None) -> dict[str, float]:
    """Every metric of one sample set against the reference features; with the `labels`
    the samples were generated for, also the share the classifier gives that label. An
    extractor without classes (no logits) gives no class figures (None)."""
    kid, _ = distances.kernel_inception_distance(real_features, fake_features)
    precision, recall = distances.precision_recall(real_features, fake_features)
    result = {
        "frechet_distance": distances.frechet_distance(real_features, fake_features),
        "kid": kid,
        "inception_score": None,
        "precision": precision,
        "recall": recall,
        "class_kl": None,
        "classes_covered": None,
    }
    if fake_logits is None:
        return result
    coverage = distances.class_coverage(fake_logits, prior)
    result.update(
        inception_score=distances.inception_score(fake_logits)[0],
        class_kl=coverage["kl_to_prior"],
        classes_covered=coverage["classes_covered"],
        class_histogram=coverage["histogram"],
    )
    if labels is not None:
        result["label_accuracy"] = float(np.mean(np.argmax(fake_logits, 1) == labels))
    return result


class Evaluator:
    """Holds the reference features of one dataset, so that many evaluations share them."""

    def __init__(self, dataset: "str | data.Source", extractor: FeatureExtractor, prior=None, seed: int = 0):
        self.source = dataset if isinstance(dataset, data.Source) else data.source(dataset)
        self.dataset, self.extractor, self.prior = self.source.name, extractor, prior
        real = real_test_images(self.source, seed)
        half = len(real) // 2
        self.reference_features, _ = extractor(real[:half])
        self._holdout = real[half:]
        self._floor = None
        self._training_set = None

    def floor(self) -> dict:
        """The real-data floor: held-out real images scored like samples."""
        if self._floor is None:
            features, logits = self.extractor(self._holdout)
            self._floor = figures(self.reference_features, features, logits, self.prior)
        return self._floor

    def __call__(self, images: np.ndarray, labels: np.ndarray | None = None) -> dict:
        features, logits = self.extractor(images)
        return figures(self.reference_features, features, logits, self.prior, labels)

    def training_set(self) -> "novelty.TrainingSet | None":
        """The training split's features with the held-out real images' distances to them
        (the whole reference split), built once; None when the source has no split apart
        from its training images."""
        if self.source.reference_split == "train":
            return None
        if self._training_set is None:
            held_out_b, _ = self.extractor(self._holdout)
            held_out = np.concatenate([self.reference_features, held_out_b])
            self._training_set = novelty.TrainingSet(self._cached_train_features(), held_out)
        return self._training_set

    def novelty(self, images: np.ndarray) -> dict | None:
        """`zoo.evaluation.novelty.TrainingSet.data_copying` of samples against the training
        split (`training_set`); None without a held-out split."""
        training = self.training_set()
        return None if training is None else training.data_copying(self.extractor(images)[0])

    def nearest_training(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance, index in the training split) of each image's nearest training image,
        in the feature space."""
        training = self.training_set()
        if training is None:
            raise ZooError(f"{self.dataset} has no split apart from its training images to tell copies by")
        return novelty.nearest(self.extractor(images)[0], training.train)

    def copies(self, images: np.ndarray) -> np.ndarray:
        """Whether each image is a near-copy of a training image: closer to its nearest one
        than 99% of held-out real images are to theirs (`TrainingSet.copy_threshold`)."""
        distance, _ = self.nearest_training(images)
        return distance < self.training_set().copy_threshold

    def _cached_train_features(self) -> np.ndarray:
        """The training split's features, computed once per source, preprocessing and
        extractor weights and kept under $TFDS_DATA_DIR/ganzoo/features/ (60,000
        Fashion-MNIST images take about 20 s to extract on two CPU cores)."""
        import hashlib
        from pathlib import Path

        from zoo import contract
        from zoo.data.tfds_source import data_dir

        key = hashlib.sha256(f"{self.source.describe()}|{self.source.options}|{self.extractor.name}".encode())
        network = getattr(self.extractor, "network", None)
        for weights in network.get_weights() if network is not None else []:
            key.update(weights.tobytes())
        name = f"{Path(self.source.name).name}-train-{key.hexdigest()[:16]}.npy"
        path = Path(data_dir()) / "ganzoo" / "features" / name
        if path.is_file():
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError):  # a damaged cache: computed again below
                pass
        features, _ = self.extractor(data.real_images(self.source, "train"))
        contract.write_atomically(path, lambda tmp: np.save(tmp, features))
        return features

    def report(self, images: np.ndarray, labels: np.ndarray | None = None,
               with_novelty: bool = False) -> dict:  # fmt: skip
        """{"samples": figures, "real_floor": figures, "n": ..., "extractor": ...}; with the
        samples' labels, "label_accuracy" beside the classifier's own accuracy on real images."""
        report = {
            "n": len(images),
            "reference": f"{self.source.describe()} {self.source.reference_split}, half A "
            f"({len(self.reference_features)})",
            "extractor": self.extractor.name,
            "samples": self(images, labels),
            "real_floor": self.floor(),
        }
        if labels is not None and "label_accuracy" in report["samples"]:
            report["classifier_accuracy"] = getattr(self.extractor, "info", {}).get("test_accuracy")
        copying = self.novelty(images) if with_novelty else None
        if copying is not None:
            report["novelty"] = {k: v for k, v in copying.items() if not isinstance(v, np.ndarray)}
        return report


def evaluate(
    model,
    evaluator: Evaluator,
    n: int,
    seed: int = 0,
    judge=None,
    consistency_per_code: int = 500,
    rule: str | None = None,
    refinement=None,
    energy=None,
    novelty: bool = False,
    no_copies: bool = False,
) -> dict:
    """What `ganzoo eval` reports for a trained GAN: `n` samples drawn with `seed` (refined
    on `energy`'s logit with a `zoo.evaluation.refine.Refinement`, then kept by `judge`
    under `rule`, its own by default, when given), scored against the real floor; label
    accuracy for class-conditional models (labels cycle through the classes), code
    consistency for a categorical code; with `novelty`, whether the samples are new
    (`Evaluator.novelty`, which extracts the whole training split once); with `no_copies`,
    the judge also rejects near-copies of training images (`Evaluator.copies`)."""
    labels = None
    if judge is not None:
        rule = rule or judge.rule
        copies = evaluator.copies if no_copies else None
        samples, acceptance = judge.filter(
            model, n, seed=seed, rule=rule, refinement=refinement, copies=copies
        )
        refinement = judge.refinement_for(rule, refinement)  # what filter applied; recorded below
    else:
        inputs = model.sample_inputs(n, seed)
        if refinement is not None:
            from zoo.evaluation.refine import refine_inputs

            inputs = refine_inputs(model, energy, inputs, refinement, seed)
        samples, acceptance = model.generate(n, inputs=inputs), None
        labels = inputs.get("label")
    report = evaluator.report(samples, labels, with_novelty=novelty)
    refined = refinement is not None and refinement.steps > 0  # steps=0: none
    report.update(seed=seed, filter=None if judge is None else f"judge ({rule})", acceptance_rate=acceptance,
                  refinement=dataclasses.asdict(refinement) if refined else None)  # fmt: skip
    if model.codes and "code_cat" in model.codes and evaluator.extractor(samples[:1])[1] is not None:
        report["code_consistency"] = code_consistency(model, evaluator.extractor, consistency_per_code, seed)
    return report


def table(report: dict) -> str:
    """A plain-text table of a report: each figure beside its real-data floor, then the
    conditioning figures (label accuracy, code consistency) where measured."""
    lines = [f"{'metric':<18}{'samples':>12}{'real floor':>12}"]
    lines.insert(0, f"feature space: {report.get('extractor')}; reference: {report.get('reference')}")
    for name in FIGURES:
        sample, floor = report["samples"].get(name), report["real_floor"].get(name)
        if sample is None:
            continue  # a class figure, and the extractor knows no classes
        lines.append(f"{name:<18}{sample:>12.4g}{floor:>12.4g}")
    if "label_accuracy" in report["samples"]:
        ceiling = report.get("classifier_accuracy")
        shown = f"{ceiling:>12.4g}" if ceiling is not None else f"{'':>12}"
        lines.append(f"{'label_accuracy':<18}{report['samples']['label_accuracy']:>12.4g}{shown}"
                     "   (floor column: the classifier's accuracy on real test images)")  # fmt: skip
    consistency = report.get("code_consistency")
    if consistency:
        lines.append(
            f"categorical code: {consistency['mean_consistency']:.1%} of samples per code value share its "
            f"majority class; {consistency['distinct_classes']} distinct classes over the code values"
        )
    if report.get("acceptance_rate") is not None:
        lines.append(f"acceptance rate {report['acceptance_rate']:.1%}")
    copying = report.get("novelty")
    if copying:
        c_t = "n/a" if copying["c_t"] is None else f"{copying['c_t']:.2f}"
        median, median_real = copying["median_distance_samples"], copying["median_distance_held_out"]
        lines.append(
            f"novelty: median distance to the nearest training image {median:.3g} "
            f"(held-out real images: {median_real:.3g}); data-copying C_T {c_t} over "
            f"{copying['cells_used']} of {copying['cells']} cells (below -3: copying); "
            f"{copying['share_below_copy_threshold']:.1%} of samples closer than 99% of real images are"
        )
    return "\n".join(lines)


def code_consistency(model, extractor: FeatureExtractor, per_code: int = 500, seed: int = 0) -> dict:
    """For a model with a categorical code (InfoGAN): does each code value pick one class?

    For each code value, `per_code` samples with random z and continuous codes are
    classified; consistency is the share that fall in that value's most common class.
    `distinct_classes` counts the different majority classes over all code values
    (10 for a code that found all ten garment types)."""
    k = model.codes["code_cat"]["size"]
    rng = np.random.default_rng(seed)
    majorities, shares = [], []
    for value in range(k):
        inputs = model.sample_inputs(per_code, seed=int(rng.integers(1 << 30)))
        inputs["code_cat"] = np.full(per_code, value, np.int32)
        _, logits = extractor(model.generate(per_code, inputs=inputs))
        counts = np.bincount(np.argmax(logits, axis=1), minlength=logits.shape[1])
        majorities.append(int(np.argmax(counts)))
        shares.append(float(counts.max() / per_code))
    return {
        "per_code_consistency": [round(x, 4) for x in shares],
        "mean_consistency": float(np.mean(shares)),
        "majority_class": majorities,
        "distinct_classes": len(set(majorities)),
    }
