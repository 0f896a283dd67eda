"""Training data from any source, as batches of `(images, labels)` in [-1, 1].

A source is named by one string, from Python (`load(source, ...)`) and the CLI
(`ganzoo train RECIPE --data SOURCE`):
    a folder          images read recursively; class subfolders are labels (zoo.data.folder)
    a .npy / .npz     an array of images, with labels where the file has them (zoo.data.arrays)
    a tfds name       any tensorflow-datasets dataset with an image feature (zoo.data.tfds_source),
                      among them fashion_mnist and noto_emoji, which prepare offline

`Preprocessing` (size, channels, crop or pad, background, resize method) turns every
source's images into squares of one size and colour mode (zoo.data.transform); it is part
of a run's recipe. Each source is decoded and preprocessed once per process (a folder's
prepared copy is also kept on disk); epochs only shuffle, batch and scale.
"""

import dataclasses
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.data import arrays, folder
from zoo.data.tfds_source import (
    DEBIAN_FASHION_MNIST,
    OFFLINE_ENV,
    builder_of,
    data_dir,
    image_features,
    prepare,
)
from zoo.data.transform import Preprocessing, supported_sizes, transform, transform_all
from zoo.errors import ZooError

__all__ = [
    "DEBIAN_FASHION_MNIST",
    "OFFLINE_ENV",
    "DatasetSpec",
    "Preprocessing",
    "Source",
    "data_dir",
    "load",
    "prepare",
    "real_images",
    "source",
    "source_of",
    "spec",
    "supported_sizes",
    "to_unit_range",
    "training_stream",
]  # fmt: skip

# What the recipes' tfds datasets need beyond their own size and colours.
KNOWN_OPTIONS = {"celeb_a": {"image_size": 64, "center_crop": 140}}  # the DCGAN paper's face crop
PREPROCESSING_FIELDS = ("image_size", "channels", "fit", "background", "resize")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What the networks need to know of a source after preprocessing."""

    image_shape: tuple[int, int, int]
    num_classes: int | None  # None: no class labels
    class_names: tuple[str, ...] = ()


class Source:
    """One dataset after preprocessing: its spec, and each split as cached uint8 images.

    Attributes:
        name: the source as given (a tfds name, a folder or an array file).
        kind: "tfds", "folder" or "arrays".
        options: the preprocessing, resolved (size and channels set).
        spec: the images' shape and classes.
        splits: the split names; `reference_split` is what evaluation compares with
            ("test" where there is one, else the training images themselves).
    """

    def __init__(self, name: str, options: Preprocessing | None = None, data_dir_: str | None = None):
        self.name, self._data_dir = name, data_dir_
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # split -> (uint8 images, labels)
        options = options or Preprocessing()
        path = Path(name).expanduser()
        if path.is_dir() or (not path.suffix and _looks_like_path(name)):
            self._read_folder(path, options)
        elif path.suffix in (".npy", ".npz") or path.is_file():
            self._read_arrays(path, options)
        else:
            self._describe_tfds(options)
        size, channels = self.options.image_size, self.options.channels
        self.spec = DatasetSpec((size, size, channels), len(self.class_names) or None, self.class_names)

    def _read_folder(self, path: Path, options: Preprocessing) -> None:
        self.kind = "folder"
        prepared = folder.prepare(path, options, self._data_dir or data_dir())
        self.options, self.class_names = prepared.options, tuple(prepared.class_names)
        self._arrays["train"] = (prepared.images, prepared.labels)
        self.unlabeled = int(np.sum(prepared.labels < 0))

    def _read_arrays(self, path: Path, options: Preprocessing) -> None:
        self.kind = "arrays"
        stored = arrays.read(path)
        images, _ = stored.splits["train"]
        own = min(images.shape[1:3])
        self.options = options.resolved(_nearest_size(own), 1 if images.shape[-1] <= 2 else 3)
        for split, (x, y) in stored.splits.items():
            self._arrays[split] = (transform_all(x, self.options), y)
        labels = np.concatenate([y for _, y in stored.splits.values()])
        self.class_names = tuple(str(i) for i in range(int(labels.max()) + 1)) if stored.has_labels else ()
        self.unlabeled = 0 if stored.has_labels else len(images)

    def _describe_tfds(self, options: Preprocessing) -> None:
        """Its features only (tfds knows them without the data); `prepare` gets the data."""
        self.kind, name = "tfds", self.name
        known = {k: v for k, v in KNOWN_OPTIONS.get(name, {}).items() if getattr(options, k) is None}
        options = dataclasses.replace(options, **known)
        self._builder = builder_of(name, self._data_dir or data_dir())
        self._image_key, self._label_key = image_features(self._builder)
        h, w, c = self._builder.info.features[self._image_key].shape
        if options.image_size is None and not (h and h == w and h in supported_sizes()):
            sizes = ", ".join(map(str, supported_sizes()))
            raise ZooError(f"{name}'s images are {h or 'any'}x{w or 'any'}; choose --image-size ({sizes})")
        self.options = options.resolved(h, 1 if c <= 2 else 3)
        label = self._builder.info.features[self._label_key] if self._label_key else None
        self.class_names = tuple(label.names) if label is not None else ()
        self.unlabeled = 0

    def prepare(self) -> "Source":
        """Makes the data itself ready (a tfds dataset is downloaded or prepared offline
        once); a folder or an array is read when the source is made."""
        if self.kind == "tfds" and not self._builder.is_prepared():
            self._builder = prepare(self.name, self._data_dir)
        return self

    @property
    def splits(self) -> list[str]:
        return list(self.prepare()._builder.info.splits) if self.kind == "tfds" else list(self._arrays)

    @property
    def reference_split(self) -> str:
        return next((s for s in ("test", "validation") if s in self.splits), "train")

    def num_examples(self, split: str) -> int:
        if self.kind == "tfds":
            return self.prepare()._builder.info.splits[split].num_examples
        return len(self._arrays[split][0])

    def require_labels(self, variant: str) -> None:
        """Refuses data a conditional variant cannot learn from: no classes, one, or
        images outside every class."""
        where = f"{self.name}" + (" (class subfolders are labels)" if self.kind == "folder" else "")
        if not self.class_names:
            raise ZooError(f"{variant} needs class labels; {where} has none")
        if len(self.class_names) < 2:
            raise ZooError(f"{variant} needs at least two classes; {where} has one ({self.class_names[0]})")
        if self.unlabeled:
            raise ZooError(f"{variant} needs a class for every image; {self.unlabeled} images of {self.name} "
                           "lie outside the class subfolders")  # fmt: skip

    def images(self, split: str) -> tf.data.Dataset:
        """The split's `(uint8 image, int32 label)` pairs, decoded and preprocessed once
        (cached); label 0 for an image without a class."""
        if split not in self.splits:
            raise ZooError(f"{self.name} has no split {split!r}; it has {', '.join(self.splits)}")
        if self.kind != "tfds":
            x, y = self._arrays[split]
            return tf.data.Dataset.from_tensor_slices((x, np.maximum(y, 0)))  # no class: label 0
        image_key, label_key, options = self._image_key, self._label_key, self.options
        h, w, c = self._builder.info.features[image_key].shape
        unchanged = (h, w) == (options.image_size,) * 2 and c == options.channels and not options.center_crop

        def pair(example):
            image = example[image_key] if unchanged else transform(example[image_key], options)
            label = example[label_key] if label_key else tf.constant(0, tf.int64)
            return image, tf.cast(label, tf.int32)

        ds = self._builder.as_dataset(split=split, shuffle_files=False)
        return ds.map(pair, num_parallel_calls=tf.data.AUTOTUNE).cache()

    def describe(self) -> str:
        size, channels = self.options.image_size, self.options.channels
        colour = "grayscale" if channels == 1 else "RGB"
        return f"{self.name} ({self.kind}, {size}x{size} {colour})"


def _looks_like_path(name: str) -> bool:
    """A name that can only be a path (a tfds name starts with a letter)."""
    return name.startswith(("/", ".", "~"))


def _nearest_size(side: int) -> int:
    sizes = supported_sizes()
    return side if side in sizes else max([s for s in sizes if s <= side] or [sizes[0]])


def source(name: str, options: Preprocessing | None = None, data_dir: str | None = None) -> Source:
    """The source `name` after `options` (default: its own size and colours)."""
    if not isinstance(name, str) or not name:
        raise ZooError(f"a data source is a folder, a .npy/.npz file or a tfds name, got {name!r}")
    return Source(name, options or Preprocessing(), data_dir)


def options_of(config: dict) -> Preprocessing:
    """The preprocessing a recipe (or its config dict) names."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    return Preprocessing(**{k: get(k) for k in PREPROCESSING_FIELDS if get(k) is not None})


def source_of(config) -> Source:
    """The source of a recipe or of a run's config.json: its dataset and preprocessing."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    return source(get("dataset"), options_of(config))


def spec(name: str, options: Preprocessing | None = None) -> DatasetSpec:
    return source(name, options).spec


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def load(
    name: "str | Source",
    split: str = "train",
    batch_size: int = 128,
    *,
    shuffle: bool = True,
    repeat: bool = False,
    drop_remainder: bool = True,
    seed: int | None = None,
    data_dir: str | None = None,
    options: Preprocessing | None = None,
) -> tf.data.Dataset:
    """Batches of `(images, labels)`: float32 (B, H, W, C) in [-1, 1] and int32 (B,).

    `name` is a source (see the module's docstring) or a `Source`. Decoded uint8 images
    are cached in memory, so shuffling, batching and scaling are all that run per epoch.
    Datasets without classes yield label 0.
    """
    src = name if isinstance(name, Source) else source(name, options, data_dir)
    return batches(src.images(split), src.num_examples(split), batch_size, shuffle=shuffle, repeat=repeat,
                   drop_remainder=drop_remainder, seed=seed)  # fmt: skip


def batches(
    pairs: tf.data.Dataset,
    size: int,
    batch_size: int,
    *,
    shuffle: bool = True,
    repeat: bool = False,
    drop_remainder: bool = True,
    seed: int | None = None,
) -> tf.data.Dataset:
    """`(uint8 image, label)` pairs (`size` of them) as `load` gives them: shuffled, batched,
    scaled to [-1, 1], prefetched."""
    if batch_size < 1:
        raise ZooError(f"batch_size must be positive, got {batch_size}")
    ds = pairs
    if shuffle:
        ds = ds.shuffle(min(size, 60_000), seed=seed)
    if repeat:
        ds = ds.repeat()
    return _finish(ds.batch(batch_size, drop_remainder=drop_remainder))


def _finish(ds: tf.data.Dataset) -> tf.data.Dataset:
    """Batches of uint8 pairs scaled to [-1, 1], sharded by element over workers, prefetched."""
    ds = ds.map(lambda x, y: (to_unit_range(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    # Several workers shard by element: tfds datasets may have a single file to shard by.
    options_ = tf.data.Options()
    options_.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options_).prefetch(tf.data.AUTOTUNE)


def training_stream(src: "str | Source", batch_size: int, seed: int, start: int = 0) -> tf.data.Dataset:
    """The training split as an endless sequence of batches, from batch `start` on.

    Pass p over the data is the split shuffled by (`seed`, p), cut to whole batches, so
    batch t is the same whether or not the run was interrupted before it: a run resumed
    at step t (`start`) sees exactly the batches the uninterrupted run would have seen.
    Batches never straddle two passes; the images left over from a pass are skipped in it.
    """
    src = src if isinstance(src, Source) else source(src)
    size = src.num_examples("train")
    per_pass = size // batch_size
    if per_pass < 1:
        raise ZooError(f"{src.name} has {size} training images, fewer than one step's {batch_size}; "
                       "lower batch_size")  # fmt: skip
    pairs, buffer = src.images("train"), min(size, 60_000)

    def one_pass(p):
        # TensorFlow's get_seed compares a tensor seed in Python (`seeds == (0, 0)`) when the
        # global seed is 0, which fails while tracing this function; the pass's seed is all
        # the shuffle needs, so this function's graph takes none from the global one.
        tf.compat.v1.get_default_graph().seed = None
        return pairs.shuffle(buffer, seed=seed * 1_000_003 + p, reshuffle_each_iteration=False).take(
            per_pass * batch_size
        )

    ds = tf.data.Dataset.range(start // per_pass, 2**62).flat_map(one_pass)
    ds = ds.batch(batch_size, drop_remainder=True).skip(start % per_pass)
    return _finish(ds)


def real_images(
    src: "str | Source",
    split: str | None = None,
    seed: int = 0,
    labels: bool = False,
    limit: int | None = None,
):
    """A whole split (default: the reference split) as float images in [-1, 1], in a seeded
    random order (with `labels`, also their labels in the same order).

    With `limit`, at most that many: from a tfds split only its first `limit` images are read
    (tfds stores a split shuffled by its examples' keys), which spares decoding a large split
    for a few thousand images; an in-memory source draws them from the whole split."""
    src = src if isinstance(src, Source) else source(src)
    split = split or src.reference_split
    pairs, size = src.images(split), src.num_examples(split)
    if limit is not None and src.kind == "tfds" and limit < size:
        pairs, size = pairs.take(limit), limit
    batched = list(batches(pairs, size, 2000, shuffle=False, drop_remainder=False))
    order = np.random.default_rng(seed).permutation(sum(len(x) for x, _ in batched))[:limit]
    images = np.concatenate([x.numpy() for x, _ in batched])[order]
    if not labels:
        return images
    return images, np.concatenate([np.asarray(y).reshape(-1) for _, y in batched])[order]
