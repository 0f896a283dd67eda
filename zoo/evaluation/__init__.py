"""Sample quality: feature extractors, the metrics on their features, and evaluation.

Nothing here downloads: the 28x28 domain classifiers are trained by the project
(`ganzoo train classifier-fashion-mnist`) and shipped in `zoo/evaluation/weights/`;
InceptionV3 is used only with a weights file the user supplies.
"""

from zoo.evaluation.distances import (
    class_coverage,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)
from zoo.evaluation.features import DomainClassifier, FeatureExtractor, InceptionExtractor, extractor_for

__all__ = [
    "DomainClassifier",
    "FeatureExtractor",
    "InceptionExtractor",
    "class_coverage",
    "extractor_for",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "precision_recall",
]
