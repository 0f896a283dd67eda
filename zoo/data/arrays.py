"""A `.npy` or `.npz` file of images as a dataset.

`.npy`: one array of images, (N, H, W) or (N, H, W, C) with C in 1..4.
`.npz`: the images under `images`, `x` or `x_train`, their labels (optional) under
`labels`, `y` or `y_train`, and a test split (optional) under `x_test` and `y_test`.

uint8 arrays are taken as 0..255; float arrays in [0, 1] or [-1, 1] (what `ganzoo sample
--out x.npy` writes) are scaled to 0..255.
"""

import dataclasses
from pathlib import Path

import numpy as np

from zoo.errors import ZooError, first_line

IMAGE_KEYS, LABEL_KEYS = ("images", "x", "x_train"), ("labels", "y", "y_train")
TEST_KEYS = ("x_test", "y_test")


@dataclasses.dataclass(frozen=True)
class Arrays:
    """uint8 images (N, H, W, C) and int32 labels (N,) (-1: none), per split."""

    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    has_labels: bool


def read(path: str | Path) -> Arrays:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ZooError(f"{path} does not exist")
    try:
        stored = np.load(path, allow_pickle=False)
    except Exception as e:
        raise ZooError(f"{path} is not a .npy or .npz file numpy can read: {first_line(e)}") from e
    if isinstance(stored, np.ndarray):
        return Arrays({"train": (_images(stored, path), _no_labels(stored))}, False)
    with stored:
        keys = set(stored.files)
        image_key = next((k for k in IMAGE_KEYS if k in keys), None)
        if image_key is None:
            raise ZooError(f"{path} has no images under {', '.join(IMAGE_KEYS)} "
                           f"(it has: {', '.join(sorted(keys)) or 'nothing'})")  # fmt: skip
        label_key = next((k for k in LABEL_KEYS if k in keys), None)
        images = _images(stored[image_key], path, image_key)
        labels = _labels(stored[label_key], len(images), path, label_key) if label_key else _no_labels(images)
        splits = {"train": (images, labels)}
        if "x_test" in keys:
            test = _images(stored["x_test"], path, "x_test")
            if test.shape[1:] != images.shape[1:]:
                raise ZooError(f"{path}: x_test's images are {test.shape[1:]}, x's {images.shape[1:]}")
            if label_key and "y_test" not in keys:
                raise ZooError(f"{path} has labels for x but none for x_test (y_test)")
            test_labels = (
                _labels(stored["y_test"], len(test), path, "y_test") if label_key else _no_labels(test)
            )
            splits["test"] = (test, test_labels)
    return Arrays(splits, label_key is not None)


def _images(array: np.ndarray, path: Path, key: str = "the array") -> np.ndarray:
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 2, 3, 4) or len(array) == 0:
        raise ZooError(
            f"{path}: {key} has shape {array.shape}; give images (N, H, W) or (N, H, W, C), C 1 to 4"
        )
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ZooError(f"{path}: {key} holds {array.dtype}, not image values")
    values = array.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ZooError(f"{path}: {key} holds NaN or infinite values")
    floating = np.issubdtype(array.dtype, np.floating)
    if floating and low >= 0 and high <= 1:
        values = values * 255.0
    elif floating and low >= -1 and high <= 1:
        values = (values + 1.0) * 127.5
    elif low < 0 or high > 255:
        raise ZooError(f"{path}: {key} ranges over [{low:g}, {high:g}]; give uint8, [0, 1] or [-1, 1]")
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def _labels(array: np.ndarray, n: int, path: Path, key: str) -> np.ndarray:
    array = np.asarray(array).reshape(-1) if np.ndim(array) == 2 and np.shape(array)[1] == 1 else array
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
        raise ZooError(f"{path}: {key} must be {n} integer labels, got {array.dtype} {array.shape}")
    if array.min() < 0:
        raise ZooError(f"{path}: {key} holds negative labels")
    return array.astype(np.int32)


def _no_labels(images: np.ndarray) -> np.ndarray:
    return np.full(len(images), -1, np.int32)
