"""The TensorFlow backend's feeder: tf.data batches of uint8 images at their native size, and labels.

    shuffled indices -> batch -> gather uint8 images and int32 labels -> prefetch

No map transforms: augmentation and the resize to the strategy's size run inside the model
(`engine/models/preprocessing.py`), on the model's device. The images stay in memory once, as uint8 at
32 px; nothing resized is ever materialised, so memory does not grow with the input size, and 3 KB per
image crosses to the device instead of 602 KB of float32 at 224 px.

Reproducible: the shuffle is seeded and reshuffles each epoch, so the same seed gives the same batches in
the same order. Imported only on the TensorFlow backend (`engine/data/feeder.py` decides).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, training: bool, seed: int = 0) -> tf.data.Dataset:
    """Batches of (uint8 images (B, h, w, 3), int32 labels (B,)), in order, or shuffled afresh each epoch
    when `training` (seeded: iterating again with the same `seed` gives the same sequence of epochs)."""
    images = tf.constant(x)  # uint8, kept once in memory
    labels = tf.constant(y.astype(np.int32))
    ds = tf.data.Dataset.range(len(x))
    if training:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(lambda idx: (tf.gather(images, idx), tf.gather(labels, idx)))  # one gather per batch
    return ds.prefetch(tf.data.AUTOTUNE)
