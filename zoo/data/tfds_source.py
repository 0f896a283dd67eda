"""Any tensorflow-datasets dataset with an image feature, prepared by its own tfds builder.

Two prepare offline: Fashion-MNIST from Debian's `dataset-fashion-mnist` package (the
real tfds builder reads those files as a manual download and verifies them against the
checksums tfds registers for the original files), and Noto emoji from its npm package
(`zoo.data.noto_emoji`).
"""

import contextlib
import fcntl
import os
import struct
import tempfile
from pathlib import Path

from zoo.data import noto_emoji
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


def data_dir() -> str:
    """Where tfds keeps prepared datasets: $TFDS_DATA_DIR, else ~/tensorflow_datasets.

    An empty $TFDS_DATA_DIR counts as unset: tfds alone would read it as the current
    directory and prepare datasets wherever the command runs."""
    return os.path.expanduser(os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets")


def prepare(name: str, data_dir_: str | None = None):
    """Returns the tfds builder for `name`, prepared (offline when possible)."""
    root = data_dir_ or data_dir()
    builder = builder_of(name, root)
    if builder.is_prepared():
        return builder
    with _preparation_lock(root, name):  # another process may be preparing it right now
        builder = builder_of(name, root)
        if builder.is_prepared():
            return builder
        if name == noto_emoji.NAME:
            if not (noto_emoji.package_dir() / "emoji.json").is_file():
                raise ZooError(f"{name} needs the npm package {noto_emoji.PACKAGE} in "
                               f"{noto_emoji.package_dir()}: "
                               f"{noto_emoji.NotoEmoji.MANUAL_DOWNLOAD_INSTRUCTIONS}")  # fmt: skip
            _download_and_prepare(builder, name, str(noto_emoji.package_dir()))
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
    with open(Path(root) / f".{name.replace('/', '_')}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def builder_of(name: str, root: str):
    """tfds' builder for `name`; an unknown name is a one-line error."""
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=root)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise ZooError(
            f"unknown dataset {name!r}: not a folder, a .npy/.npz file or a tfds dataset name "
            f"(e.g. fashion_mnist, {noto_emoji.NAME}, cifar10)"
        ) from e
    except Exception as e:  # a malformed name or version
        raise ZooError(f"dataset {name!r}: {first_line(e)}") from e


def image_features(builder) -> tuple[str, str | None]:
    """The names of the dataset's image feature and of its class label (None if it has none)."""
    import tensorflow_datasets as tfds

    features = builder.info.features
    images = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
    if not images:
        raise ZooError(f"{builder.name} has no image feature (it has {', '.join(features)})")
    labels = [k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)]
    pick = lambda keys, preferred: preferred if preferred in keys else keys[0]  # noqa: E731
    return pick(images, "image"), (pick(labels, "label") if labels else None)


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
