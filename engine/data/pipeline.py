"""tf.data input pipelines: uint8 images stay in memory at 32x32, batches are resized on the fly.

Shape of the pipeline (airbench and the Keras guide both batch before transforming):
    shuffled indices -> batch -> gather uint8 images -> augment + resize in one batched op -> prefetch
Nothing resized is ever materialised for the whole set, so memory does not grow with the input size beyond
the batches in flight. Augmentation happens at the native 32 px, where it is cheap: random flip and
translation are one `crop_and_resize` call with per-image boxes (a box shifted by up to `MAX_SHIFT`
translates, a box with x1 > x2 mirrors). Then one batched `tf.image.resize` brings the batch to the
strategy's size, for training and evaluation alike (measured ~2x faster than resizing inside
`crop_and_resize` at 224 px, and 1.7-2.0x the per-image `map(resize)` pipeline once freed memory is
reused, see `engine/allocator.py` and `make bench`).

Images leave the pipeline as float32 in [0, 255]. Scaling is the model's job: Keras' EfficientNet
rescales its own input, and the scratch CNN starts with `Rescaling(1/255)`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

MAX_SHIFT = 4 / 32  # up to 4 pixels of a 32-px image, the classic CIFAR crop augmentation


def _random_boxes(batch: tf.Tensor, seed: int | None) -> tf.Tensor:
    """Per-image crop boxes: shifted by up to MAX_SHIFT, mirrored for about half of the images."""
    n = tf.shape(batch)[0]
    shift = tf.random.uniform([n, 2], -MAX_SHIFT, MAX_SHIFT, seed=seed)
    y1, x1 = shift[:, 0], shift[:, 1]
    y2, x2 = y1 + 1.0, x1 + 1.0
    flip = tf.random.uniform([n], seed=None if seed is None else seed + 1) < 0.5
    x1, x2 = tf.where(flip, x2, x1), tf.where(flip, x1, x2)
    return tf.stack([y1, x1, y2, x2], axis=1)


def resize_batch(images: tf.Tensor, size: int, augment: bool = False, seed: int | None = None) -> tf.Tensor:
    """uint8 (B, h, w, 3) -> float32 (B, size, size, 3) in [0, 255], optionally flipped and shifted."""
    batch = tf.cast(images, tf.float32)
    if augment:
        height, width = images.shape[1], images.shape[2]
        boxes = _random_boxes(batch, seed)
        box_indices = tf.range(tf.shape(batch)[0])
        # Areas shifted in from outside the image are filled with the mean grey rather than black.
        batch = tf.image.crop_and_resize(batch, boxes, box_indices, [height, width], extrapolation_value=127.0)
    if images.shape[1] != size or images.shape[2] != size:
        batch = tf.image.resize(batch, [size, size])  # bilinear; keeps the [0, 255] range
    return batch


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    image_size: int,
    training: bool,
    augment: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """A dataset of (float32 images, int labels) batches; shuffled and augmented only when training."""
    images = tf.constant(x)  # uint8, kept once in memory
    labels = tf.constant(y.astype(np.int32))
    ds = tf.data.Dataset.range(len(x))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    do_augment = training and augment

    def load(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch = tf.gather(images, idx)
        return resize_batch(batch, image_size, augment=do_augment), tf.gather(labels, idx)

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    return ds.prefetch(tf.data.AUTOTUNE)


def naive_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, image_size: int) -> tf.data.Dataset:
    """The common per-image `map(resize)` before `batch` pipeline, kept for the benchmark's comparison."""
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    ds = ds.map(lambda img, lab: (tf.image.resize(tf.cast(img, tf.float32), [image_size, image_size]), lab),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
