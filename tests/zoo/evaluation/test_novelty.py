"""Copies of training images are caught: nearest-neighbour distances and Meehan et al.'s C_T."""

import numpy as np
import pytest

from zoo import presets
from zoo.evaluation import novelty
from zoo.evaluation.evaluate import Evaluator
from zoo.evaluation.features import DomainClassifier


def test_nearest_is_exact():
    rng = np.random.default_rng(0)
    references, queries = rng.normal(size=(3000, 16)), rng.normal(size=(200, 16))
    distances, indices = novelty.nearest(queries, references, batch=64)
    brute = np.linalg.norm(queries[:, None, :] - references[None, :, :], axis=-1)
    np.testing.assert_array_equal(indices, brute.argmin(axis=1))
    np.testing.assert_allclose(distances, brute.min(axis=1), rtol=1e-6)


def test_mann_whitney_z_by_hand():
    # samples [1, 4], held out [2, 3]: pairs where the sample is farther: 4>2, 4>3 -> U = 2 = mn/2.
    assert novelty.mann_whitney_z(np.array([1.0, 4.0]), np.array([2.0, 3.0])) == 0.0
    # samples all closer: U = 0, Z = -mn/2 / sqrt(mn(m+n+1)/12) = -2 / sqrt(5/3).
    z = novelty.mann_whitney_z(np.array([0.1, 0.2]), np.array([2.0, 3.0]))
    assert z == pytest.approx(-2 / np.sqrt(4 * 5 / 12))


def test_c_t_flags_copies_and_passes_fresh_samples():
    rng = np.random.default_rng(0)
    train, held_out = rng.normal(size=(4000, 8)), rng.normal(size=(1000, 8))
    copies = train[rng.choice(4000, 1000, replace=False)] + rng.normal(scale=0.01, size=(1000, 8))
    fresh = rng.normal(size=(1000, 8))
    training_set = novelty.TrainingSet(train, held_out)
    copied, new = training_set.data_copying(copies), training_set.data_copying(fresh)
    assert copied["c_t"] < -5 and copied["share_below_copy_threshold"] > 0.9
    assert abs(new["c_t"]) < 2.5 and new["share_below_copy_threshold"] < 0.05
    assert copied["cells_used"] >= 10


@pytest.fixture(scope="module")
def evaluator(fashion_mnist_dir, tmp_path_factory):
    """An evaluator on 5,000 Fashion-MNIST training and 1,000 test images (an .npz source):
    the whole search, on a training set small enough for the suite."""
    from zoo import data

    train, train_labels = next(iter(data.load("fashion_mnist", "train", 5000, shuffle=False)))
    test, test_labels = next(iter(data.load("fashion_mnist", "test", 1000, shuffle=False)))
    train, train_labels, test, test_labels = (np.asarray(x) for x in (train, train_labels, test, test_labels))
    path = tmp_path_factory.mktemp("novelty") / "fashion-subset.npz"
    to_uint8 = lambda x: np.round((x + 1) * 127.5).astype(np.uint8)  # noqa: E731
    np.savez(path, x_train=to_uint8(train[:5000]), y_train=train_labels[:5000], x_test=to_uint8(test[:1000]),
             y_test=test_labels[:1000])  # fmt: skip
    return Evaluator(str(path), DomainClassifier.shipped("fashion_mnist"))


def test_a_memorizing_generator_is_flagged_and_the_dcgan_preset_is_not(evaluator):
    from zoo import data
    from zoo.evaluation.evaluate import table

    memorized = data.real_images(evaluator.source, "train", seed=3, limit=1000)  # G outputs training images
    report = evaluator.report(memorized, with_novelty=True)
    copied = report["novelty"]
    assert copied["c_t"] < -3 and copied["share_below_copy_threshold"] > 0.5
    assert "data-copying C_T" in table(report)
    samples = presets.locate("dcgan-fashion-mnist").model().generate(1000, seed=0)
    fresh = evaluator.report(samples, with_novelty=True)["novelty"]
    assert fresh["c_t"] > -3 and fresh["share_below_copy_threshold"] < 0.05


class _HalfCopying:
    """A generator that outputs a training image in every other sample."""

    def __init__(self, model, train):
        self.model, self.train = model, train

    def __getattr__(self, name):
        return getattr(self.model, name)

    def generate(self, n, seed=0, inputs=None):
        images = self.model.generate(n, seed=seed, inputs=inputs)
        picked = np.random.default_rng(int(np.abs(inputs["z"][0, 0]) * 1e6)).choice(len(self.train), n // 2)
        images[::2] = self.train[picked][: len(images[::2])]
        return images


def test_the_judge_rejects_near_copies_with_the_held_out_threshold(evaluator):
    from zoo import data
    from zoo.evaluation.refine import Refinement

    train = data.real_images(evaluator.source, "train", seed=3)
    assert evaluator.copies(train[:300]).mean() > 0.5  # a training image is its own nearest
    trained = presets.locate("dcgan-fashion-mnist")
    model, judge = _HalfCopying(trained.model(), train), trained.judge()
    assert evaluator.copies(trained.model().generate(300, seed=1)).mean() < 0.05
    unrefined = Refinement(steps=0)  # its default refinement moves z, not the copies: left out here
    kept, _ = judge.filter(model, 120, seed=2, refinement=unrefined)  # the judge takes real images for good
    assert evaluator.copies(kept).mean() > 0.3
    kept, rate = judge.filter(model, 120, seed=2, refinement=unrefined, copies=evaluator.copies)
    assert not evaluator.copies(kept).any() and rate < 0.5


def test_neighbours_pairs_each_sample_with_its_nearest_training_image(evaluator, tmp_path, capsys):
    from PIL import Image

    from recipes.cli import save_neighbours
    from zoo import contract, data

    memorized = data.real_images(evaluator.source, "train", seed=5, limit=4)
    assert save_neighbours(evaluator, memorized, tmp_path / "pairs.png") == 0
    picture = np.asarray(Image.open(tmp_path / "pairs.png"))
    np.testing.assert_array_equal(picture, contract.grid(np.repeat(memorized, 2, axis=0), cols=8)[..., 0]
                                  .repeat(2, axis=0).repeat(2, axis=1))  # fmt: skip
    assert "4 closer than the copy threshold" in capsys.readouterr().out
