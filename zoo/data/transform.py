"""Preprocessing, named and saved with a run: every source's images become squares of one
size and one colour mode here, in one TensorFlow function, once per dataset.

Order: transparent pixels are composited on `background`, the colours become grayscale or
RGB, a non-square image is centre-cropped (or padded with `background`) to a square, and
the square is resized with `resize`, anti-aliased when it shrinks.
"""

import dataclasses

import tensorflow as tf

from zoo.errors import ZooError

MIN_SIZE, MAX_SIZE = 28, 128
FITS = ("crop", "pad")
RESIZE_METHODS = ("bilinear", "bicubic", "lanczos3", "area", "nearest")
COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0), "gray": (128, 128, 128)}


def supported_sizes() -> list[int]:
    """Square sides from MIN_SIZE to MAX_SIZE that halve down to 4..7, as the conv networks
    need (28 starts at 7x7; 32, 64 and 128 at 4x4)."""

    def halves_to_start(side: int) -> bool:
        while side % 2 == 0 and side > 7:
            side //= 2
        return 4 <= side <= 7

    return [s for s in range(MIN_SIZE, MAX_SIZE + 1) if halves_to_start(s)]


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How a source's images become training images.

    Attributes:
        image_size: the square side (28 to 128, see `supported_sizes`); None: the source's own.
        channels: 1 (grayscale) or 3 (RGB); None: the source's own (RGBA counts as RGB).
        fit: a non-square image is centre-cropped ("crop") or padded with `background` ("pad").
        background: the colour under transparent pixels and in padding: white, black, gray or #rrggbb.
        resize: tf.image.resize's method, anti-aliased when downscaling.
        center_crop: a square to cut from the middle first (CelebA's faces); None: none.
    """

    image_size: int | None = None
    channels: int | None = None
    fit: str = "crop"
    background: str = "white"
    resize: str = "bilinear"
    center_crop: int | None = None

    def __post_init__(self):
        sizes = supported_sizes()
        if self.image_size is not None and self.image_size not in sizes:
            raise ZooError(f"image_size must be one of {', '.join(map(str, sizes))}, got {self.image_size}")
        if self.channels not in (None, 1, 3):
            raise ZooError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if self.fit not in FITS:
            raise ZooError(f"fit must be 'crop' or 'pad', got {self.fit!r}")
        if self.resize not in RESIZE_METHODS:
            raise ZooError(f"resize must be one of {', '.join(RESIZE_METHODS)}, got {self.resize!r}")
        background_rgb(self.background)

    def resolved(self, image_size: int, channels: int) -> "Preprocessing":
        """These options with the source's own size and channels filled in where None."""
        return dataclasses.replace(
            self,
            image_size=self.image_size or image_size,
            channels=self.channels or channels,
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def background_rgb(text: str) -> tuple[int, int, int]:
    """'white', 'black', 'gray' or '#rrggbb' as three 0..255 values."""
    if text in COLOURS:
        return COLOURS[text]
    hex_digits = text.removeprefix("#")
    if text.startswith("#") and len(hex_digits) == 6:
        try:
            return tuple(int(hex_digits[i : i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            pass
    raise ZooError(f"background must be white, black, gray or #rrggbb, got {text!r}")


def transform(image: tf.Tensor, options: Preprocessing) -> tf.Tensor:
    """uint8 (H, W, C) with C in 1..4 (gray, gray+alpha, RGB, RGBA) -> uint8 (S, S, channels).

    `options` must be resolved (size and channels set). C must be known statically.
    """
    size, channels = options.image_size, options.channels
    background = tf.constant(background_rgb(options.background), tf.float32)
    x = tf.cast(image, tf.float32)
    c = image.shape[-1]
    if c in (2, 4):  # composite the alpha channel on the background
        alpha = x[..., -1:] / 255.0
        x = x[..., :-1]
        under = background if c == 4 else tf.reduce_mean(background, keepdims=True)
        x = x * alpha + under * (1.0 - alpha)
    if channels == 1 and x.shape[-1] == 3:
        x = tf.image.rgb_to_grayscale(x)
    elif channels == 3 and x.shape[-1] == 1:
        x = tf.image.grayscale_to_rgb(x)
    fill = background if channels == 3 else tf.reduce_mean(background, keepdims=True)
    if options.center_crop:
        x = tf.image.resize_with_crop_or_pad(x, options.center_crop, options.center_crop)
    height, width = tf.shape(x)[0], tf.shape(x)[1]
    if options.fit == "crop":
        side = tf.minimum(height, width)
        x = tf.image.resize_with_crop_or_pad(x, side, side)
    else:  # pad with the background colour: pad the difference from it with zeros
        side = tf.maximum(height, width)
        x = tf.image.resize_with_crop_or_pad(x - fill, side, side) + fill
    x = tf.cond(
        tf.equal(side, size),
        lambda: tf.ensure_shape(x, [None, None, channels]),
        lambda: tf.image.resize(x, (size, size), method=options.resize, antialias=True),
    )
    x = tf.ensure_shape(tf.reshape(x, (size, size, channels)), (size, size, channels))
    return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)


def transform_all(images, options: Preprocessing, batch: int = 256):
    """A uint8 array (N, H, W, C) of same-sized images -> uint8 (N, S, S, channels), in batches."""
    import numpy as np

    out = np.empty((len(images), options.image_size, options.image_size, options.channels), np.uint8)
    fn = tf.function(lambda x: tf.map_fn(lambda i: transform(i, options), x, fn_output_signature=tf.uint8))
    for i in range(0, len(images), batch):
        out[i : i + batch] = fn(tf.constant(images[i : i + batch])).numpy()
    return out
