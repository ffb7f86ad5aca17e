"""The TensorFlow backend's feeder: tf.data batches of uint8 images at their native size, and labels.

    shuffled indices -> batch (whole batches) -> gather uint8 images and int32 labels -> prefetch
    indices padded to whole batches -> batch -> gather images, labels and sample weights -> prefetch

No map transforms: augmentation and the resize to the strategy's size run inside the model
(`engine/models/preprocessing.py`), on the model's device. The images stay in memory once, as uint8 at
32 px; nothing resized is ever materialised, so memory does not grow with the input size, and 3 KB per
image crosses to the device instead of 602 KB of float32 at 224 px.

Reproducible: the shuffle is seeded and reshuffles each epoch, so the same seed gives the same batches in
the same order. Every batch has one shape (training drops the partial last batch, evaluation pads it and
weighs the padding 0: `engine/data/feeder.py` says why). Imported only on the TensorFlow backend
(`engine/data/feeder.py` decides).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from cifar_tui.engine.data.batches import evaluation_weight, padded_length


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, training: bool, seed: int = 0) -> tf.data.Dataset:
    """Training: batches of (uint8 images (B, h, w, 3), int32 labels (B,)) shuffled afresh each epoch
    (seeded: iterating again with the same `seed` gives the same sequence of epochs), whole batches only.
    Evaluation: in order, plus float32 sample weights (B,), the last batch padded with weight 0."""
    n = len(x)
    images = tf.constant(x)  # uint8, kept once in memory
    labels = tf.constant(y.astype(np.int32))
    if training:
        ds = tf.data.Dataset.range(n).shuffle(max(n, 1), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size, drop_remainder=n >= batch_size)
        ds = ds.map(lambda idx: (tf.gather(images, idx), tf.gather(labels, idx)))  # one gather per batch
        return ds.prefetch(tf.data.AUTOTUNE)
    weight = evaluation_weight(n, batch_size)

    def gather(idx):
        real = idx < n
        row = tf.minimum(idx, n - 1)  # padding repeats the last image
        return tf.gather(images, row), tf.gather(labels, row), tf.where(real, weight, 0.0)

    ds = tf.data.Dataset.range(padded_length(n, batch_size)).batch(batch_size, drop_remainder=True).map(gather)
    return ds.prefetch(tf.data.AUTOTUNE)
