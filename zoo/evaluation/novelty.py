"""Are generated images new? A sample that reproduces a training image fools D but is no new
image. In the evaluation's feature space: each sample's distance to its nearest training
image, beside the same distance for held-out real images, and the data-copying statistic
C_T of Meehan et al. 2020 (negative where samples sit closer to the training images than
held-out real images do)."""

import numpy as np
from scipy.cluster.vq import kmeans2

CELLS = 20  # k-means cells of the training features C_T is averaged over (Meehan et al. use 20-50)
MIN_PER_CELL = 20  # cells with fewer samples or held-out images than this are left out


def nearest(queries: np.ndarray, references: np.ndarray, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each query's nearest reference, by exact search: all distances
    of a batch of queries from ||q||^2 + ||r||^2 - 2 q.r, then the winner's distance computed
    again directly in float64 (no cancellation error in what is returned)."""
    queries = np.asarray(queries, np.float32)
    references = np.asarray(references, np.float32)
    squared_refs = np.einsum("ij,ij->i", references, references)
    indices = np.empty(len(queries), np.int64)
    for start in range(0, len(queries), batch):
        q = queries[start : start + batch]
        d = squared_refs[None, :] - 2.0 * (q @ references.T)  # + ||q||^2, the same for the whole row
        indices[start : start + batch] = np.argmin(d, axis=1)
    gaps = queries.astype(np.float64) - references[indices].astype(np.float64)
    return np.sqrt(np.einsum("ij,ij->i", gaps, gaps)), indices


def mann_whitney_z(samples: np.ndarray, held_out: np.ndarray) -> float:
    """Z-score of the Mann-Whitney U statistic counting pairs where a sample's distance
    exceeds a held-out image's (ties half): 0 when samples are as far from the training set
    as held-out images, negative when closer."""
    from scipy.stats import rankdata

    m, n = len(samples), len(held_out)
    ranks = rankdata(np.concatenate([samples, held_out]))
    u = ranks[:m].sum() - m * (m + 1) / 2
    return float((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))


class TrainingSet:
    """Training features with what every comparison against them reuses: their k-means
    cells, and the held-out real images' distances to their nearest training image."""

    def __init__(self, train: np.ndarray, held_out: np.ndarray, cells: int = CELLS, seed: int = 0):
        self.train = np.asarray(train, np.float32)
        self.cells = cells
        self.centroids, _ = kmeans2(self.train.astype(np.float64), cells, seed=seed, minit="++")
        self.held_out_distance, _ = nearest(held_out, self.train)
        self.held_out_cell = nearest(held_out, self.centroids)[1]
        # Closer to a training image than all but 1% of held-out real images are.
        self.copy_threshold = float(np.quantile(self.held_out_distance, 0.01))

    def data_copying(self, samples: np.ndarray) -> dict:
        """Meehan et al. 2020's C_T and the distances it rests on, for samples' features.

        In each k-means cell with at least MIN_PER_CELL samples and held-out images, the
        samples' distances to their nearest training image are compared with the held-out
        images' (`mann_whitney_z`); C_T is the average of those Z-scores weighted by the
        cells' share of held-out images. C_T well below 0 (the paper's alarm is about -3)
        says the generator copies; near 0, it does not; above 0, its samples lie farther from
        the data than real images (underfitting).
        """
        d_samples, nn_samples = nearest(samples, self.train)
        cell_of_sample = nearest(samples, self.centroids)[1]
        zs, weights = [], []
        for cell in range(self.cells):
            s = d_samples[cell_of_sample == cell]
            h = self.held_out_distance[self.held_out_cell == cell]
            if len(s) >= MIN_PER_CELL and len(h) >= MIN_PER_CELL:
                zs.append(mann_whitney_z(s, h))
                weights.append(len(h) / len(self.held_out_distance))
        return {
            "c_t": float(np.average(zs, weights=weights)) if zs else None,
            "cells_used": len(zs),
            "cells": self.cells,
            "median_distance_samples": float(np.median(d_samples)),
            "median_distance_held_out": float(np.median(self.held_out_distance)),
            "copy_threshold": self.copy_threshold,
            "share_below_copy_threshold": float(np.mean(d_samples < self.copy_threshold)),
            "nearest_training_index": nn_samples,
            "samples_distance": d_samples,
        }

