"""The feeder: batches of uint8 images at their native size and int32 labels, for any Keras backend.

`make_feeder` is the one place that decides how batches are made: tf.data on the TensorFlow backend
(`engine/data/pipeline.py`, imported only there: it imports TensorFlow), a `keras.utils.PyDataset` over the
numpy arrays on JAX and PyTorch. Either way the model gets what `engine/models/preprocessing.py` expects:
uint8 (B, 32, 32, 3) images, augmented and resized inside the model.
"""

from __future__ import annotations

import math

import keras
import numpy as np


class ArrayFeeder(keras.utils.PyDataset):
    """Batches of (uint8 images (B, h, w, 3), int32 labels (B,)) from in-memory arrays, backend-neutral.

    Training: a new seeded permutation each epoch (epoch k of seed s is the same in every run); every image
    appears exactly once per epoch. Evaluation: the arrays' order."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, training: bool, seed: int = 0):
        super().__init__()
        if len(x) != len(y):
            raise ValueError(f"{len(x)} images but {len(y)} labels")
        self.x, self.y = np.ascontiguousarray(x, dtype=np.uint8), np.asarray(y, dtype=np.int32)
        self.batch_size, self.training, self.seed = int(batch_size), training, int(seed)
        self.epoch = 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if not self.training:
            return np.arange(len(self.x))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.x))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index >= len(self):
            raise IndexError(index)
        idx = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.x[idx], self.y[idx]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()

    def __iter__(self):  # one epoch, then the next shuffle (as iterating a tf.data dataset again does)
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()


def make_feeder(x: np.ndarray, y: np.ndarray, batch_size: int, training: bool, seed: int = 0):
    """Batches of (uint8 (B, h, w, 3), int32 (B,)) for `fit`/`evaluate`/`predict`, shuffled each epoch when
    `training` (seeded), in order otherwise: a tf.data dataset on the TensorFlow backend, an `ArrayFeeder`
    elsewhere."""
    if keras.backend.backend() == "tensorflow":
        from engine.data.pipeline import make_dataset  # imports TensorFlow: only on its own backend

        return make_dataset(x, y, batch_size, training=training, seed=seed)
    return ArrayFeeder(x, y, batch_size, training=training, seed=seed)

