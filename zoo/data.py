"""Standard image datasets through tensorflow-datasets, as batches of images in [-1, 1].

Fashion-MNIST also prepares offline from Debian's `dataset-fashion-mnist` package:
the real tfds builder reads those files as a manual download and verifies them
against the checksums tfds registers for the original files.
"""

import contextlib
import dataclasses
import fcntl
import os
import struct
import tempfile
from pathlib import Path

import tensorflow as tf

from zoo.errors import ZooError, first_line

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
OFFLINE_ENV = "GANZOO_OFFLINE"  # "1": never download, only prepare from local files

# Debian's packaging rewrote each gzip header (dropped the stored file name, reset the
# modification time); the compressed payload and its CRC are the original ones. These
# are the original headers' mtimes, recovered by matching the sha256 tfds registers
# for each file. Rebuilding the header restores the original bytes, which tfds then
# verifies, so a changed or corrupt file still fails its checksum.
_FASHION_MNIST_MTIMES = {
    "train-images-idx3-ubyte": 1504176606,
    "train-labels-idx1-ubyte": 1504176606,
    "t10k-images-idx3-ubyte": 1504176627,
    "t10k-labels-idx1-ubyte": 1504176627,
}


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """How one tfds dataset becomes training images."""

    image_shape: tuple[int, int, int]  # after preprocessing
    num_classes: int | None  # None: no class labels
    center_crop: int | None = None  # crop side before resizing (CelebA's faces)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec((28, 28, 1), 10),
    "fashion_mnist": DatasetSpec((28, 28, 1), 10),
    "cifar10": DatasetSpec((32, 32, 3), 10),
    "celeb_a": DatasetSpec((64, 64, 3), None, center_crop=140),
}


def spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ZooError(f"unknown dataset {name!r}; supported: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def data_dir() -> str:
    """Where tfds keeps prepared datasets: $TFDS_DATA_DIR, else ~/tensorflow_datasets.

    An empty $TFDS_DATA_DIR counts as unset: tfds alone would read it as the current
    directory and prepare datasets wherever the command runs."""
    return os.path.expanduser(os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets")


def prepare(name: str, data_dir_: str | None = None):
    """Returns the tfds builder for `name`, prepared (offline when possible)."""
    import tensorflow_datasets as tfds

    spec(name)
    root = data_dir_ or data_dir()
    builder = tfds.builder(name, data_dir=root)
    if builder.is_prepared():
        return builder
    with _preparation_lock(root, name):  # another process may be preparing it right now
        builder = tfds.builder(name, data_dir=root)
        if builder.is_prepared():
            return builder
        if name == "fashion_mnist" and (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
            with tempfile.TemporaryDirectory(dir=root, prefix=".manual-") as manual_dir:
                _restore_debian_fashion_mnist(Path(manual_dir))
                _download_and_prepare(builder, name, manual_dir)
            return builder
        if os.environ.get(OFFLINE_ENV) == "1":
            raise ZooError(_missing_message(name, root))
        _download_and_prepare(builder, name, None)
        return builder


@contextlib.contextmanager
def _preparation_lock(root: str, name: str):
    """Holds an exclusive lock on `root/.<name>.lock`: two runs started together on a fresh
    machine would otherwise prepare the same dataset into the same folder and collide."""
    Path(root).mkdir(parents=True, exist_ok=True)
    with open(Path(root) / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _download_and_prepare(builder, name: str, manual_dir: str | None) -> None:
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

    config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    try:
        builder.download_and_prepare(download_config=config)
    except NonMatchingChecksumError as e:
        raise ZooError(f"{name}: a source file fails its registered checksum: {first_line(e)}") from e
    except Exception as e:  # no network, refused connection, missing files, ...
        raise ZooError(f"{_missing_message(name, builder.data_dir)} ({type(e).__name__})") from e


def _missing_message(name: str, root: str) -> str:
    hint = (
        "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"
        if name == "fashion_mnist"
        else f"prepare it once with network access (tfds build {name})"
    )
    return (
        f"{name} is not prepared under {root} and cannot be downloaded: {hint}, "
        "or set TFDS_DATA_DIR to a directory where it is prepared"
    )


def _restore_debian_fashion_mnist(target: Path) -> None:
    """Writes the original `*.gz` files into `target` from Debian's rewritten ones."""
    for stem, mtime in _FASHION_MNIST_MTIMES.items():
        data = (DEBIAN_FASHION_MNIST / f"{stem}.gz").read_bytes()
        if data[:3] != b"\x1f\x8b\x08" or data[3] != 0:
            raise ZooError(f"{DEBIAN_FASHION_MNIST / stem}.gz is not the gzip file Debian ships")
        # gzip header: magic, deflate, FNAME flag, mtime, XFL, OS (unix), name, NUL
        header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + stem.encode() + b"\0"
        (target / f"{stem}.gz").write_bytes(header + data[10:])


def _resize(image: tf.Tensor, spec_: DatasetSpec) -> tf.Tensor:
    """uint8 (h, w, C) -> uint8 at the spec's shape (center crop, then resize)."""
    if not spec_.center_crop:
        return image
    image = tf.image.resize_with_crop_or_pad(image, spec_.center_crop, spec_.center_crop)
    image = tf.image.resize(image, spec_.image_shape[:2], antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def load(
    name: str,
    split: str = "train",
    batch_size: int = 128,
    *,
    shuffle: bool = True,
    repeat: bool = False,
    drop_remainder: bool = True,
    seed: int | None = None,
    data_dir: str | None = None,
) -> tf.data.Dataset:
    """Batches of `(images, labels)`: float32 (B, H, W, C) in [-1, 1] and int32 (B,).

    Decoded uint8 images are cached in memory, so shuffling, batching and scaling are
    all that run per epoch. Datasets without classes yield label 0.
    """
    spec_ = spec(name)
    if batch_size < 1:
        raise ZooError(f"batch_size must be positive, got {batch_size}")
    builder = prepare(name, data_dir)
    if split not in builder.info.splits:
        raise ZooError(f"{name} has no split {split!r}; it has {', '.join(builder.info.splits)}")

    def to_pair(example):
        label = example["label"] if spec_.num_classes else tf.constant(0, tf.int64)
        return _resize(example["image"], spec_), tf.cast(label, tf.int32)

    ds = builder.as_dataset(split=split, shuffle_files=False)
    ds = ds.map(to_pair, num_parallel_calls=tf.data.AUTOTUNE).cache()  # decoded uint8
    if shuffle:
        ds = ds.shuffle(min(builder.info.splits[split].num_examples, 60_000), seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda x, y: (to_unit_range(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    # Several workers shard by element: tfds datasets may have a single file to shard by.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
