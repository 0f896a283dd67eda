import numpy as np
import pytest
from scipy import linalg

from zoo.evaluation import distances


def test_frechet_distance_of_gaussian_samples_converges_to_the_closed_form():
    rng = np.random.default_rng(0)
    d = 4
    mu_a, mu_b = np.zeros(d), np.array([1.0, 0.0, -0.5, 2.0])
    a_half = rng.normal(size=(d, d)) * 0.5
    cov_a = a_half @ a_half.T + np.eye(d)
    cov_b = np.diag([0.5, 1.0, 2.0, 1.5])
    exact = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real))
    errors = []
    for n in (1_000, 100_000):
        a = rng.multivariate_normal(mu_a, cov_a, n)
        b = rng.multivariate_normal(mu_b, cov_b, n)
        errors.append(abs(distances.frechet_distance(a, b) - exact))
    assert errors[1] < 0.02 * exact and errors[1] < errors[0]


def test_frechet_distance_of_a_set_with_itself_is_zero_and_it_is_symmetric():
    a = np.random.default_rng(1).normal(size=(500, 8))
    b = a + 0.3
    assert distances.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert distances.frechet_distance(a, b) == pytest.approx(distances.frechet_distance(b, a), rel=1e-6)
    assert distances.frechet_distance(a, b) == pytest.approx(8 * 0.09, rel=1e-4)  # a pure mean shift


def test_kid_is_about_zero_within_one_distribution_and_positive_across_two():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    same, same_std = distances.kernel_inception_distance(a, b, subsets=10, subset_size=500)
    assert abs(same) < 3 * same_std + 1e-3
    shifted, _ = distances.kernel_inception_distance(a, b + 0.5, subsets=10, subset_size=500)
    assert shifted > 20 * abs(same)


def test_kid_unbiased_estimate_matches_the_definition_on_a_tiny_case():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.0]])
    k = lambda u, v: (u @ v / 2 + 1) ** 3  # noqa: E731
    expected = k(x[0], x[1]) * 2 / 2 + k(y[0], y[1]) * 2 / 2 - 2 * np.mean([k(a, b) for a in x for b in y])
    value, _ = distances.kernel_inception_distance(x, y, subsets=1, subset_size=2)
    assert value == pytest.approx(expected)


def test_precision_and_recall_of_a_set_against_itself_are_one():
    a = np.random.default_rng(3).normal(size=(300, 5))
    assert distances.precision_recall(a, a, k=3) == (1.0, 1.0)


def test_precision_and_recall_separate_quality_from_coverage():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(1000, 2))
    collapsed = rng.normal(size=(1000, 2)) * 0.1  # all inside the data, covering little of it
    precision, recall = distances.precision_recall(real, collapsed, k=3)
    assert precision > 0.95 and recall < 0.3
    off = rng.normal(size=(1000, 2)) + 10.0
    assert distances.precision_recall(real, off, k=3) == (0.0, 0.0)


def test_inception_score_bounds():
    confident_balanced = np.eye(10)[np.arange(1000) % 10] * 50.0
    assert distances.inception_score(confident_balanced, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    one_class = np.eye(10)[np.zeros(1000, int)] * 50.0
    assert distances.inception_score(one_class, splits=1)[0] == pytest.approx(1.0, rel=1e-6)


def test_class_coverage():
    balanced = distances.class_coverage(np.eye(4)[np.arange(400) % 4])
    assert balanced["kl_to_prior"] == pytest.approx(0.0) and balanced["classes_covered"] == 4
    collapsed = distances.class_coverage(np.eye(4)[np.zeros(400, int)])
    assert collapsed["kl_to_prior"] == pytest.approx(np.log(4)) and collapsed["classes_covered"] == 1


def test_realism_score_by_hand():
    """Real points 0, 1, ..., 9 on a line, k = 1: every radius is 1, all kept (at the median).
    A fake at 0.5 scores 1 / 0.5 = 2 (inside), one at 20 scores 1 / 11 (outside)."""
    real = np.arange(10, dtype=np.float64)[:, None]
    scores = distances.realism_scores(real, np.array([[0.5], [20.0], [4.75]]), k=1)
    np.testing.assert_allclose(scores, [2.0, 1 / 11, 4.0])
    # Pruning: a far outlier's large radius is not used (it would make every fake look real).
    with_outlier = np.concatenate([real, [[100.0]]])
    assert distances.realism_scores(with_outlier, np.array([[60.0]]), k=1)[0] < 1


def test_the_judges_agreement_with_realism_by_hand():
    from zoo.evaluation.judge import agreement

    realism = np.array([0.5, 0.8, 1.2, 1.5, 2.0, 0.9, 3.0, 0.7, 1.1, 2.5])
    same = agreement(realism * 3 - 1, realism)  # any increasing function of realism: rank correlation 1
    assert same["realism_spearman"] == pytest.approx(1.0) and same["n"] == 10
    assert same["outside_real_manifold"] == 0.4  # 0.5, 0.8, 0.9, 0.7
    assert same["judges_top_tenth_outside"] == 0.0 and same["judges_bottom_tenth_inside"] == 0.0
    reversed_ = agreement(-realism, realism)
    assert reversed_["realism_spearman"] == pytest.approx(-1.0)
    assert reversed_["judges_top_tenth_outside"] == 1.0 and reversed_["judges_bottom_tenth_inside"] == 1.0
