"""Quality metrics as functions of features or class logits (numpy in, floats out)."""

import warnings

import numpy as np
from scipy import linalg


def _mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to two
    feature sets (N, F): FID when the features are Inception's (Heusel et al. 2017)."""
    mu_a, cov_a = _mean_cov(a)
    mu_b, cov_b = _mean_cov(b)
    return frechet_distance_from_moments(mu_a, cov_a, mu_b, cov_b)


def frechet_distance_from_moments(mu_a, cov_a, mu_b, cov_b) -> float:
    """The Frechet distance of N(mu_a, cov_a) and N(mu_b, cov_b)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # handled below
        covmean, error = linalg.sqrtm(cov_a @ cov_b, disp=False)
        if not np.isfinite(covmean).all() or error > 1e-3:
            # Singular covariances (e.g. features that never fire): regularize the diagonal.
            offset = np.eye(cov_a.shape[0]) * 1e-6
            covmean, _ = linalg.sqrtm((cov_a + offset) @ (cov_b + offset), disp=False)
    covmean = covmean.real
    diff = mu_a - mu_b
    return float(max(0.0, diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean)))


def kernel_inception_distance(
    a: np.ndarray, b: np.ndarray, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """(mean, std) over subsets of the unbiased MMD^2 with the cubic polynomial kernel
    k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018). About 0 for one distribution."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = min(subset_size, len(a), len(b))
    d = a.shape[1]
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx = (x @ x.T / d + 1) ** 3
        k_yy = (y @ y.T / d + 1) ** 3
        k_xy = (x @ y.T / d + 1) ** 3
        # Unbiased: the diagonals (k(x_i, x_i)) are left out of the within-set means.
        mmd = (
            (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
            + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
            - 2 * k_xy.mean()
        )
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of exp(E_x KL(p(y|x) || p(y))) over splits (Salimans et al. 2016).

    From 1 (every image the same uncertain class) to C (confident and balanced)."""
    p = _softmax(logits)
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _distances(points: np.ndarray, references: np.ndarray, batch: int = 1024):
    """(start, the distances of points[start : start + batch] to every reference), a block
    of points at a time, from ||p||^2 + ||r||^2 - 2 p.r."""
    squared_refs = np.sum(references**2, axis=1)
    for start in range(0, len(points), batch):
        block = points[start : start + batch]
        d2 = np.sum(block**2, axis=1)[:, None] + squared_refs[None, :] - 2 * block @ references.T
        yield start, np.sqrt(np.maximum(d2, 0))


def _kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest other point in the same set."""
    radii = np.empty(len(features))
    for start, d in _distances(features, features):
        radii[start : start + len(d)] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself
    return radii


def _inside_manifold(points: np.ndarray, manifold: np.ndarray, radii: np.ndarray) -> np.ndarray:
    inside = np.empty(len(points), bool)
    for start, d in _distances(points, manifold):
        inside[start : start + len(d)] = np.any(d <= radii[None, :], axis=1)
    return inside


def realism_scores(real: np.ndarray, fake: np.ndarray, k: int = 3) -> np.ndarray:
    """Each fake's realism score (Kynkaanniemi et al. 2019): max over real points r of
    radius(r) / ||fake - r||, radius(r) the distance to r's k-th nearest real neighbour, over
    the half of the real points with the smallest radii (the paper's pruning of outliers).
    At least 1 inside the real manifold, below 1 outside; a per-sample measure of quality
    independent of any discriminator."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    radii = _kth_neighbour_radii(real, k)
    kept = radii <= np.median(radii)
    real, radii = real[kept], radii[kept]
    scores = np.empty(len(fake))
    for start, d in _distances(fake, real):
        scores[start : start + len(d)] = np.max(radii[None, :] / np.maximum(d, 1e-12), axis=1)
    return scores


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Each set's manifold is the union of balls reaching every point's k-th nearest
    neighbour; precision is the share of fakes inside the real manifold (quality),
    recall the share of reals inside the fake manifold (coverage)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    real_radii, fake_radii = _kth_neighbour_radii(real, k), _kth_neighbour_radii(fake, k)
    precision = _inside_manifold(fake, real, real_radii).mean()
    recall = _inside_manifold(real, fake, fake_radii).mean()
    return float(precision), float(recall)


def class_coverage(logits: np.ndarray, prior: np.ndarray | None = None) -> dict:
    """How a sample set spreads over the classifier's classes.

    Returns the histogram of predicted classes, KL(histogram || prior) (0 when the
    classes come as often as in the data; log C when every sample is one class), and
    how many classes hold at least half their prior share."""
    logits = np.asarray(logits)
    classes = logits.shape[1]
    prior = np.full(classes, 1.0 / classes) if prior is None else np.asarray(prior, np.float64)
    histogram = np.bincount(np.argmax(logits, axis=1), minlength=classes) / len(logits)
    nonzero = histogram > 0
    kl = float(np.sum(histogram[nonzero] * np.log(histogram[nonzero] / prior[nonzero])))
    return {
        "histogram": histogram.round(4).tolist(),
        "kl_to_prior": kl,
        "classes_covered": int(np.sum(histogram >= 0.5 * prior)),
    }
