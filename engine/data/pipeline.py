"""tf.data input pipelines: uint8 images stay in memory at 32x32, batches are resized on the fly.

Shape of the pipeline (airbench and the Keras guide both batch before transforming):
    shuffled indices + a per-batch seed -> batch -> gather uint8 images -> augment -> resize -> prefetch
Nothing resized is ever materialised for the whole set, so memory does not grow with the input size beyond
the batches in flight. Augmentation happens at the native 32 px, where it is cheap, and is exact: the
standard CIFAR augmentation (He et al. 2016; airbench) translates each image by a whole number of pixels,
up to `MAX_SHIFT` each way (reflect-pad by 4, crop 32x32 at a random offset), and mirrors about half of
them; both are one pair of batched gathers, so no image is interpolated (a sub-pixel shift would blur
every training image while validation and test images stay sharp). Then one batched `tf.image.resize`
brings the batch to the strategy's size, for training and evaluation alike (measured ~2x faster than
resizing per image, see `engine/allocator.py` and `make bench`).

Reproducible: shuffling is seeded, each batch's augmentation draws from stateless random ops seeded by a
seeded `Dataset.random` stream (a new stream each epoch), and the map keeps its order, so the same seed
gives the same batches in the same order, whatever the parallelism.

Images leave the pipeline as float32 in [0, 255]. Scaling is the model's job: Keras' EfficientNet
rescales its own input, and the scratch CNN starts with `Rescaling(1/255)`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

MAX_SHIFT = 4  # pixels, the classic CIFAR crop augmentation (pad 4, crop 32)
# What each augmentation does (a data set declares one: engine/data/sources.py).
AUGMENTATIONS = {
    "flip+translate": dict(flip=True, shift=MAX_SHIFT),
    "translate": dict(flip=False, shift=MAX_SHIFT),
    "none": dict(flip=False, shift=0),
}


def augment_batch(images: tf.Tensor, seed: tf.Tensor, flip: bool = True, shift: int = MAX_SHIFT) -> tf.Tensor:
    """uint8 (B, h, w, C) -> the same images translated by whole pixels (|dx|, |dy| <= shift, reflect
    padding) and, with `flip`, mirrored left-right for about half of them. `seed`: int (2,) for the
    stateless random ops; the same seed gives the same output."""
    n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2)
    padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]], mode="REFLECT") if shift else images
    offsets = tf.random.stateless_uniform([n, 2], seeds[0], minval=0, maxval=2 * shift + 1, dtype=tf.int32)
    rows = offsets[:, :1] + tf.range(h)[None, :]  # (B, h): the source row of each output row
    cols = offsets[:, 1:] + tf.range(w)[None, :]
    if flip:
        mirrored = tf.random.stateless_uniform([n], seeds[1]) < 0.5
        cols = tf.where(mirrored[:, None], tf.reverse(cols, axis=[1]), cols)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)  # (B, h, w + 2 shift, C)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def resize_batch(images: tf.Tensor, size: int, augment: str | bool = False,
                 seed: tf.Tensor | None = None) -> tf.Tensor:
    """uint8 (B, h, w, 3) -> float32 (B, size, size, 3) in [0, 255], optionally augmented (see
    `AUGMENTATIONS`; True means "flip+translate") with the stateless `seed` (int (2,))."""
    kind = "flip+translate" if augment is True else ("none" if augment is False else augment)
    if kind != "none":
        images = augment_batch(images, tf.constant([0, 0]) if seed is None else seed, **AUGMENTATIONS[kind])
    batch = tf.cast(images, tf.float32)
    if images.shape[1] != size or images.shape[2] != size:
        batch = tf.image.resize(batch, [size, size])  # bilinear; keeps the [0, 255] range
    return batch


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    image_size: int,
    training: bool,
    augment: str | bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """A dataset of (float32 images, int labels) batches; shuffled and augmented only when training.

    `augment`: a key of `AUGMENTATIONS` (True: "flip+translate", False: "none"). With the same `seed`,
    iterating the dataset again gives the same sequence of epochs (each epoch its own shuffle and draws)."""
    images = tf.constant(x)  # uint8, kept once in memory
    labels = tf.constant(y.astype(np.int32))
    ds = tf.data.Dataset.range(len(x))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    kind = augment if training else False
    # One stateless seed per batch, from a seeded stream that is drawn afresh each epoch.
    seeds = tf.data.Dataset.random(seed=seed + 1, rerandomize_each_iteration=True).batch(2)
    ds = tf.data.Dataset.zip(ds, seeds)

    def load(idx: tf.Tensor, batch_seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch = tf.gather(images, idx)
        return resize_batch(batch, image_size, augment=kind, seed=batch_seed), tf.gather(labels, idx)

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def naive_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, image_size: int) -> tf.data.Dataset:
    """The common per-image `map(resize)` before `batch` pipeline, kept for the benchmark's comparison."""
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    ds = ds.map(lambda img, lab: (tf.image.resize(tf.cast(img, tf.float32), [image_size, image_size]), lab),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
