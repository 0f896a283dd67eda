"""The edge between the zoo's float images in [-1, 1] and uint8 pictures on disk."""

import os
import tempfile
from pathlib import Path

import numpy as np

from export.sample import grid  # noqa: F401  (grids are drawn one way: the standalone sampler's)
from zoo.files import publish


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float -> [0, 255] uint8, clipping what lies outside."""
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def save_png(path: str | os.PathLike, picture: np.ndarray, scale: int = 1) -> Path:
    """Writes a uint8 (H, W, C) picture atomically (temp file, then rename)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        image.save(tmp, format="PNG")
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
