"""A folder of images as a dataset, decoded once with Pillow and kept as a prepared array.

The folder is read recursively. As in keras' `image_dataset_from_directory`, each
immediate subfolder that holds images is a class (sorted by name) for the conditional
variants; images directly in the folder have no class. Files that cannot be used
(unreadable, truncated, too large) are skipped and counted; the prepared copy lives under
`data_dir()/ganzoo/folders/`, keyed by every file's path, size and mtime and by the
preprocessing, so a changed folder or option prepares again and nothing else does.
"""

import dataclasses
import hashlib
import json
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from zoo.data.transform import Preprocessing, supported_sizes
from zoo.errors import ZooError, first_line

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
MAX_PIXELS = 64_000_000  # larger images are skipped before decoding (20,000 px square: 400 MP)
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_VERSION = 1  # bump when preparation changes: older prepared copies are then ignored
_warned: set[str] = set()  # warnings already printed by this process


@dataclasses.dataclass(frozen=True)
class Scan:
    """What a folder holds: image files (sorted), their class index (-1: none) and class names."""

    root: Path
    files: list[Path]
    labels: list[int]
    class_names: list[str]
    loops: list[str]  # folders reached again through a symlink, not read twice


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A folder prepared for training: uint8 (N, S, S, C) images and int32 labels (-1: none)."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    options: Preprocessing  # resolved: size and channels set
    skipped: dict[str, list[str]]  # reason -> names of the files skipped for it
    path: Path  # the prepared copy


def scan(root: str | os.PathLike) -> Scan:
    """The image files under `root`, following symlinks but never into a folder twice."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ZooError(f"{root} is not a folder")
    seen, loops, found = set(), [], []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            stat = folder.stat()
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue  # unreadable folder, or a symlink that loops onto itself
        if (stat.st_dev, stat.st_ino) in seen:
            loops.append(str(folder.relative_to(root)))
            continue
        seen.add((stat.st_dev, stat.st_ino))
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.is_file() and entry.name.lower().endswith(EXTENSIONS):
                    found.append(Path(entry.path))
            except OSError:  # a symlink loop (ELOOP) or a vanished entry
                continue
    found.sort(key=lambda p: p.relative_to(root).parts)
    if not found:
        raise ZooError(f"{root} holds no images ({', '.join(e[1:] for e in EXTENSIONS)}), "
                       "in it or in its subfolders")  # fmt: skip
    class_of = [p.relative_to(root).parts[0] if len(p.relative_to(root).parts) > 1 else None for p in found]
    class_names = sorted({c for c in class_of if c is not None})
    index = {name: i for i, name in enumerate(class_names)}
    labels = [index[c] if c is not None else -1 for c in class_of]
    return Scan(root, found, labels, class_names, loops)


def prepare(root: str | os.PathLike, options: Preprocessing, cache_root: str | os.PathLike) -> Prepared:
    """The folder's images after `options`, from the prepared copy when it is current."""
    found = scan(root)
    key = _key(found, options)
    cache = Path(cache_root) / "ganzoo" / "folders" / f"{found.root.name or 'root'}-{key[:16]}.npz"
    prepared = _read(cache) if cache.is_file() else _prepare(found, options, cache)
    _report(found, prepared)
    return prepared


def _key(found: Scan, options: Preprocessing) -> str:
    digest = hashlib.sha256(json.dumps([_VERSION, str(found.root.resolve()), options.to_dict()]).encode())
    for path in found.files:
        try:
            stat = path.stat()
            digest.update(f"{path.relative_to(found.root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path.relative_to(found.root)}\0gone\n".encode())
    return digest.hexdigest()


def _prepare(found: Scan, options: Preprocessing, cache: Path) -> Prepared:
    from PIL import Image

    skipped: dict[str, list[str]] = {}
    headers = {}  # path -> (mode, width, height) of every file Pillow can open
    for path in found.files:
        name = str(path.relative_to(found.root))
        try:
            with Image.open(path) as image:
                headers[path] = (image.mode, *image.size)
        except Image.DecompressionBombError:
            skipped.setdefault("too large", []).append(name)
        except Exception:  # not an image Pillow knows, or a damaged header
            skipped.setdefault("unreadable", []).append(name)
    big = [p for p, (_, w, h) in headers.items() if w * h > MAX_PIXELS]
    for path in big:
        skipped.setdefault("too large", []).append(str(path.relative_to(found.root)))
        del headers[path]
    if not headers:
        raise ZooError(f"{found.root}: none of its {len(found.files)} image files can be read "
                       f"({_summary(skipped)})")  # fmt: skip
    own_size = options.image_size or _own_size(headers.values(), found.root)
    options = options.resolved(own_size, _own_channels(headers.values()))

    def decode(path):
        try:
            return path, _decode(path, options.image_size)
        except Exception as e:  # truncated data, a broken stream
            return path, e

    import tensorflow as tf

    from zoo.data.transform import transform

    step = tf.function(lambda x: transform(x, options),
                       input_signature=[tf.TensorSpec([None, None, 4], tf.uint8)])  # fmt: skip
    images, labels = [], []
    label_of = dict(zip(found.files, found.labels, strict=True))
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for path, result in pool.map(decode, list(headers)):
            if isinstance(result, Exception):
                skipped.setdefault("truncated or corrupt", []).append(str(path.relative_to(found.root)))
                continue
            images.append(step(result).numpy())
            labels.append(label_of[path])
    if not images:
        raise ZooError(f"{found.root}: none of its {len(found.files)} image files can be decoded "
                       f"({_summary(skipped)})")  # fmt: skip
    prepared = Prepared(np.stack(images), np.asarray(labels, np.int32), found.class_names, options,
                        skipped, cache)  # fmt: skip
    _write(prepared)
    return prepared


def _own_size(headers, root: Path) -> int:
    """The images' own side when they all share one supported square size; otherwise the
    largest supported size not above their median shorter side (said in a warning)."""
    sizes = {(w, h) for _, w, h in headers}
    sides = supported_sizes()
    if len(sizes) == 1 and (only := next(iter(sizes)))[0] == only[1] and only[0] in sides:
        return only[0]
    median = statistics.median(min(w, h) for _, w, h in headers)
    size = max([s for s in sides if s <= median] or [sides[0]])
    _warn(f"{root}: images of {len(sizes)} sizes (median shorter side {median:g} px); training at "
          f"{size}x{size} (--image-size chooses)")  # fmt: skip
    return size


def _own_channels(headers) -> int:
    return 1 if all(mode in _GRAY_MODES for mode, _, _ in headers) else 3


def _decode(path: Path, size: int) -> np.ndarray:
    """One image file -> uint8 RGBA (H, W, 4): palettes, 16-bit, CMYK and the rest converted."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale still >= size
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit gray: scale to 8 bits
            values = np.asarray(image, np.float64)
            top = 65535.0 if values.max(initial=0) > 255 else 255.0
            if image.mode == "F" and values.max(initial=0) <= 1.0:
                top = 1.0
            image = Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
        return np.asarray(image.convert("RGBA"))


def _write(prepared: Prepared) -> None:
    prepared.path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"class_names": prepared.class_names, "options": prepared.options.to_dict(),
            "skipped": prepared.skipped}  # fmt: skip
    fd, tmp = tempfile.mkstemp(dir=prepared.path.parent, prefix=f".{prepared.path.name}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, images=prepared.images, labels=prepared.labels, meta=json.dumps(meta))
        os.replace(tmp, prepared.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> Prepared:
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            return Prepared(stored["images"], stored["labels"], meta["class_names"],
                            Preprocessing(**meta["options"]), meta["skipped"], path)  # fmt: skip
    except Exception as e:
        raise ZooError(f"the prepared copy {path} cannot be read ({first_line(e)}); delete it") from e


def _summary(skipped: dict[str, list[str]]) -> str:
    parts = []
    for reason, names in skipped.items():
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        parts.append(f"{len(names)} {reason}: {shown}")
    return "; ".join(parts)


def _report(found: Scan, prepared: Prepared) -> None:
    if prepared.skipped:
        total = sum(map(len, prepared.skipped.values()))
        _warn(
            f"{found.root}: skipped {total} of {len(found.files)} image files ({_summary(prepared.skipped)})"
        )
    if found.loops:
        _warn(f"{found.root}: {len(found.loops)} symlinked folders lead back to folders already read, "
              f"read once ({', '.join(found.loops[:3])})")  # fmt: skip


def _warn(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        print(f"ganzoo: warning: {message}", file=sys.stderr)
