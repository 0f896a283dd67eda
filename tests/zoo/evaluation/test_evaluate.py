"""Evaluation with the shipped classifier, on the real Fashion-MNIST test split."""

import json

import numpy as np
import pytest

from tests import helpers
from zoo.evaluation.evaluate import Evaluator, table
from zoo.evaluation.features import DomainClassifier
from zoo.training.callbacks import QualityEval


@pytest.fixture(scope="module")
def classifier():
    return DomainClassifier.shipped("fashion_mnist")


def test_the_shipped_classifier_reaches_its_recorded_accuracy(classifier, fashion_mnist_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    from zoo import data

    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in data.load(
        "fashion_mnist", "test", 2000, shuffle=False, drop_remainder=False)], strict=True)  # fmt: skip
    _, logits = classifier(np.concatenate(images))
    accuracy = float(np.mean(np.argmax(logits, axis=1) == np.concatenate(labels)))
    assert accuracy >= 0.90
    assert accuracy == pytest.approx(classifier.info["test_accuracy"], abs=1e-3)


@pytest.fixture(scope="module")
def evaluator(classifier, fashion_mnist_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
        return Evaluator("fashion_mnist", classifier, prior=classifier.info["class_prior"])


def test_real_floor_is_near_perfect_and_noise_is_far_from_it(evaluator):
    floor = evaluator.floor()
    noise = evaluator(np.random.default_rng(0).uniform(-1, 1, (1000, 28, 28, 1)).astype(np.float32))
    assert floor["frechet_distance"] < 5.0 and noise["frechet_distance"] > 10 * floor["frechet_distance"] + 10
    assert abs(floor["kid"]) < 0.01 * noise["kid"]  # KID scales with the features: ~0 relative to noise
    assert floor["classes_covered"] == 10 and floor["class_kl"] < 0.01
    assert floor["precision"] > 0.6 and floor["recall"] > 0.6 and noise["precision"] < floor["precision"]


def test_report_and_table(evaluator):
    report = evaluator.report(evaluator._holdout[:500])
    text = table(report)
    assert "frechet_distance" in text and "real floor" in text
    assert json.loads(json.dumps(report))["n"] == 500


def test_quality_eval_logs_every_n_epochs(evaluator, tmp_path):
    model = helpers.tiny("dcgan")
    callback = QualityEval(evaluator, tmp_path, every=2, n=200)
    real, _ = helpers.real_batch(model, n=64)
    model.fit(real, batch_size=16, epochs=4, verbose=0, callbacks=[callback])
    assert [h["epoch"] for h in callback.history] == [2, 4]
    assert all(np.isfinite(h["frechet_distance"]) for h in callback.history)
    assert list((tmp_path / "quality").glob("events.out.tfevents.*"))


def test_code_consistency_is_perfect_for_a_code_that_picks_the_class(
    classifier, fashion_mnist_dir, monkeypatch
):
    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    from zoo import data
    from zoo.evaluation.evaluate import code_consistency

    pairs = [(x.numpy(), y.numpy()) for x, y in data.load("fashion_mnist", "test", 2000, shuffle=False)]
    images, labels = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])

    class CodeIsClass:
        """Generates, for code value c, real test images of class c (a perfect InfoGAN)."""

        codes = {"code_cat": {"kind": "categorical", "size": 10}}

        def sample_inputs(self, n, seed=0):
            return {"z": np.zeros((n, 1), np.float32), "code_cat": np.zeros(n, np.int32)}

        def generate(self, n, inputs):
            return images[labels == inputs["code_cat"][0]][:n]

    result = code_consistency(CodeIsClass(), classifier, per_code=200)
    assert result["distinct_classes"] == 10 and result["majority_class"] == list(range(10))
    assert result["mean_consistency"] > 0.85  # the classifier's own per-class accuracy


def test_inception_extractor_reads_a_user_weights_file(tmp_path):
    # No pretrained weights can be downloaded here: write a file the way a user would have
    # one (same architecture), and check the extractor uses it.
    import keras

    from zoo.errors import ZooError
    from zoo.evaluation.features import InceptionExtractor, extractor_for

    weights = tmp_path / "inception_v3.weights.h5"
    keras.applications.InceptionV3(include_top=True, weights=None).save_weights(weights)
    extractor = extractor_for("cifar10", inception_weights=str(weights))
    assert isinstance(extractor, InceptionExtractor)
    features, logits = extractor(np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32))
    assert features.shape == (3, 2048) and logits.shape == (3, 1000)
    with pytest.raises(ZooError, match="does not exist"):
        InceptionExtractor(tmp_path / "missing.h5")


def test_the_random_features_fallback_is_fixed_and_still_tells_noise_from_data(evaluator, fashion_mnist_dir,
                                                                                monkeypatch):  # fmt: skip
    from zoo.evaluation.features import RandomFeatures, extractor_for

    monkeypatch.setenv("TFDS_DATA_DIR", str(fashion_mnist_dir))
    assert isinstance(extractor_for("fashion_mnist", image_shape=(32, 32, 3)), RandomFeatures)  # none fits
    first, second = RandomFeatures((28, 28, 1)), RandomFeatures((28, 28, 1))
    real = evaluator._holdout[:300]
    features, logits = first(real)
    np.testing.assert_array_equal(features, second(real)[0])  # the same space in every process
    assert logits is None and "random-features" in first.name
    fallback = Evaluator(evaluator.source, first)
    floor = fallback.floor()
    noise = fallback(np.random.default_rng(0).uniform(-1, 1, (1000, 28, 28, 1)).astype(np.float32))
    assert noise["frechet_distance"] > 10 * floor["frechet_distance"] and floor["classes_covered"] is None
    assert "classes_covered" not in table(fallback.report(real)).split("real floor", 1)[1]
