"""Feature extractors: images in [-1, 1] -> (features (N, F), class logits (N, C))."""

import json
from pathlib import Path

import keras
import numpy as np

from zoo.errors import ZooError, first_line

WEIGHTS_DIR = Path(__file__).parent / "weights"


class FeatureExtractor:
    """Turns images into the features metrics compare and the class logits they count."""

    name = "extractor"

    def __call__(self, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray | None]:
        """(features, class logits); logits are None for an extractor that knows no classes."""
        features, logits = [], []
        for i in range(0, len(images), batch_size):
            f, lg = self._extract(np.asarray(images[i : i + batch_size], np.float32))
            features.append(np.asarray(f))
            logits.append(None if lg is None else np.asarray(lg))
        return np.concatenate(features), None if logits[0] is None else np.concatenate(logits)

    def _extract(self, images: np.ndarray):
        raise NotImplementedError


def classifier_network(image_shape=(28, 28, 1), num_classes: int = 10) -> keras.Model:
    """A small CNN; its 128-d `features` layer feeds the metrics.

    Images larger than 32 px first pass strided 4x4 convs down to 32 (a quarter of the
    arithmetic of full-size blocks); then blocks of two 3x3 convs and a 2x2 max pool (32, 64,
    then 128 filters) halve them until they are 7x7 or smaller: two blocks for 28x28."""
    image = keras.Input(shape=image_shape, name="image")
    x, side, block = image, image_shape[0], 0
    while side > 32:
        x = keras.layers.Conv2D(32, 4, strides=2, padding="same", activation="relu")(x)
        side //= 2
    while side > 7:
        filters = min(32 * 2**block, 128)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
        side, block = side // 2, block + 1
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(128, activation="relu", name="features")(x)
    x = keras.layers.Dropout(0.3)(features)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(image, logits, name="classifier")


class DomainClassifier(FeatureExtractor):
    """The project's own classifier for a labelled dataset, as a feature extractor.

    `DomainClassifier.shipped("fashion_mnist")` loads the weights the repository ships,
    with the test accuracy they reached (`.info`).
    """

    def __init__(self, network: keras.Model, info: dict | None = None):
        self.network = network
        self.info = info or {}
        self.name = f"classifier:{self.info.get('dataset', 'custom')}"
        self._both = keras.Model(network.input, [network.get_layer("features").output, network.outputs[0]])

    @classmethod
    def shipped(cls, dataset: str) -> "DomainClassifier":
        weights = WEIGHTS_DIR / f"{dataset}_classifier.weights.h5"
        info_path = WEIGHTS_DIR / f"{dataset}_classifier.json"
        if not weights.exists():
            raise ZooError(
                f"no classifier is shipped for {dataset}; train one with "
                f"`ganzoo train classifier-{dataset.replace('_', '-')}` or pass an InceptionV3 weights file"
            )
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        network = classifier_network(tuple(info.get("image_shape", (28, 28, 1))), info.get("num_classes", 10))
        network.load_weights(weights)
        return cls(network, info)

    @classmethod
    def trained(cls, run_dir: str | Path) -> "DomainClassifier":
        """The classifier a `ganzoo train classifier-... --data SOURCE` run wrote: a feature
        space for data of your own, trained on its labels."""
        run_dir = Path(run_dir)
        info_path, weights = run_dir / "classifier.json", run_dir / "classifier.weights.h5"
        if not (info_path.is_file() and weights.is_file()):
            raise ZooError(f"{run_dir} holds no trained classifier (classifier.json, classifier.weights.h5); "
                           "train one with `ganzoo train classifier-noto-emoji --data SOURCE`")  # fmt: skip
        try:
            info = json.loads(info_path.read_text())
            network = classifier_network(tuple(info["image_shape"]), info["num_classes"])
            network.load_weights(weights)
        except Exception as e:
            raise ZooError(f"{run_dir}'s classifier cannot be loaded: {first_line(e)}") from e
        info.setdefault("dataset", str(run_dir))
        return cls(network, info)

    def _extract(self, images):
        features, logits = self._both(images, training=False)
        return keras.ops.convert_to_numpy(features), keras.ops.convert_to_numpy(logits)


class InceptionExtractor(FeatureExtractor):
    """InceptionV3 pool features (2048-d) and ImageNet logits, for the standard FID on RGB data.

    Needs a weights file (`keras.applications.InceptionV3`, include_top=True); nothing is
    downloaded. Grayscale images are repeated to three channels and resized to 299x299.
    """

    name = "inception_v3"

    def __init__(self, weights_path: str | Path):
        if not Path(weights_path).is_file():
            raise ZooError(f"InceptionV3 weights file {weights_path} does not exist")
        model = keras.applications.InceptionV3(include_top=True, weights=str(weights_path))
        self._both = keras.Model(model.input, [model.get_layer("avg_pool").output, model.outputs[0]])

    def _extract(self, images):
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        resized = keras.ops.image.resize(images, (299, 299))  # inputs stay in [-1, 1], as Inception expects
        features, probabilities = self._both(resized, training=False)
        logits = np.log(np.clip(keras.ops.convert_to_numpy(probabilities), 1e-12, 1.0))
        return keras.ops.convert_to_numpy(features), logits


class RandomFeatures(FeatureExtractor):
    """The fallback where no trained feature space fits the data: `classifier_network`'s
    128-d features with random weights (seed 0), and no classes.

    Random convolutional features still separate image statistics (Naeem et al. 2020 use
    them for precision and recall), but they are not a trained feature space: compare runs
    on the same data with them, never with figures measured in another space.
    """

    def __init__(self, image_shape, seed: int = 0):
        network = classifier_network(tuple(image_shape), 1)
        self.network = keras.Model(network.input, network.get_layer("features").output)
        rng = np.random.default_rng(seed)  # Glorot-uniform kernels, zero biases, drawn here alone
        self.network.set_weights([
            rng.uniform(-1, 1, w.shape).astype(np.float32)
            * np.sqrt(6.0 / (np.prod(w.shape[:-1]) + w.shape[-1]))
            if w.ndim > 1 else np.zeros(w.shape, np.float32)
            for w in self.network.get_weights()
        ])  # fmt: skip
        self.name = f"random-features (untrained CNN, seed {seed}; no pretrained space fits this data)"
        self.info = {}

    def _extract(self, images):
        return keras.ops.convert_to_numpy(self.network(images, training=False)), None


def shipped_classifier(dataset: str, image_shape) -> DomainClassifier | None:
    """The shipped classifier of `dataset` when it takes images of `image_shape`, else None."""
    try:
        classifier = DomainClassifier.shipped(dataset)
    except ZooError:
        return None
    return classifier if tuple(classifier.network.input.shape[1:]) == tuple(image_shape) else None


def extractor_for(
    dataset: str, inception_weights: str | None = None, image_shape=None, classifier: str | None = None
) -> FeatureExtractor:
    """The feature space a run is measured in: InceptionV3 when given its weights, a
    classifier trained on the data's labels when given its run folder, else the project's
    classifier for the dataset (at the images' shape), else `RandomFeatures`."""
    if inception_weights:
        return InceptionExtractor(inception_weights)
    if classifier:
        trained = DomainClassifier.trained(classifier)
        shape = tuple(trained.network.input.shape[1:])
        if image_shape is not None and shape != tuple(image_shape):
            raise ZooError(f"the classifier in {classifier} takes {shape} images; "
                           f"the run's are {tuple(image_shape)}")  # fmt: skip
        return trained
    if image_shape is None:
        return DomainClassifier.shipped(dataset)
    return shipped_classifier(dataset, image_shape) or RandomFeatures(image_shape)
