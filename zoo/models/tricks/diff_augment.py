"""DiffAugment (Zhao et al. 2020): the same random, differentiable augmentations of real and
fake images before D, in training only, so D cannot memorize a small dataset and G's gradient
still passes through. The exported discriminator judges images as they are."""

import keras
import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    parts = tuple(p for p in policy.replace(" ", "").split(",") if p)
    unknown = [p for p in parts if p not in POLICIES]
    if unknown:
        raise ValueError(f"Unknown DiffAugment policy. Expected parts of {POLICIES}. Received: {policy!r}")
    return parts


@register
class DiffAugment(Trick):
    settings = (
        Setting(
            "diff_augment",
            str,
            "",
            'policy applied to real and fake before D, e.g. "color,translation,cutout"',
        ),
    )

    def check(self):
        self.policy = parse_policy(self.diff_augment)

    def augment(self, model, images):
        return diff_augment(images, self.policy, model.seed_generator)


def diff_augment(images: tf.Tensor, policy: tuple[str, ...], seed) -> tf.Tensor:
    """DiffAugment (Zhao et al. 2020): color, translation by up to 1/8, cutout of 1/2.

    Every transform is differentiable in the images, so G's gradient passes through.
    `seed` is a keras.random.SeedGenerator. Images are (B, H, W, C) in [-1, 1].
    """
    for part in policy:
        images = _TRANSFORMS[part](images, seed)
    return images


def _uniform(images, seed, low=0.0, high=1.0):
    return keras.random.uniform([tf.shape(images)[0], 1, 1, 1], low, high, seed=seed)


def _color(images, seed):
    images = images + _uniform(images, seed, -0.5, 0.5)  # brightness
    mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - mean) * _uniform(images, seed, 0.0, 2.0) + mean  # saturation
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * _uniform(images, seed, 0.5, 1.5) + mean  # contrast


def _translation(images, seed, ratio=0.125):
    """Shifts each image by up to ratio * size pixels, filling with zeros (mid-gray)."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    dy_max = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    dx_max = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    dy = keras.random.randint([b, 1, 1], -dy_max, dy_max + 1, seed=seed)
    dx = keras.random.randint([b, 1, 1], -dx_max, dx_max + 1, seed=seed)
    # Source pixel of every output pixel, in a zero-padded copy.
    ys = tf.clip_by_value(tf.range(h)[None, :, None] + dy + 1, 0, h + 1)  # (B, H, 1)
    xs = tf.clip_by_value(tf.range(w)[None, None, :] + dx + 1, 0, w + 1)  # (B, 1, W)
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    batch = tf.broadcast_to(tf.range(b)[:, None, None], [b, h, w])
    index = tf.stack([batch, tf.broadcast_to(ys, [b, h, w]), tf.broadcast_to(xs, [b, h, w])], -1)
    return tf.gather_nd(padded, index)


def _cutout(images, seed, ratio=0.5):
    """Zeroes one (ratio * H, ratio * W) rectangle per image, centred anywhere in it."""
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    ch = tf.cast(tf.cast(h, tf.float32) * ratio + 0.5, tf.int32)
    cw = tf.cast(tf.cast(w, tf.float32) * ratio + 0.5, tf.int32)
    top = keras.random.randint([b, 1, 1], 0, h, seed=seed) - ch // 2
    left = keras.random.randint([b, 1, 1], 0, w, seed=seed) - cw // 2
    ys, xs = tf.range(h)[None, :, None], tf.range(w)[None, None, :]
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)  # (B, H, W)
    return images * (1.0 - tf.cast(inside, images.dtype)[..., None])


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}
