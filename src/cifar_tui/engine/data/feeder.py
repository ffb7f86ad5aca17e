"""The feeder: batches of uint8 images at their native size and int32 labels, for any Keras backend.

`make_feeder` is the one place that decides how batches are made: tf.data on the TensorFlow backend
(`engine/data/pipeline.py`, imported only there: it imports TensorFlow), a `keras.utils.PyDataset` over the
numpy arrays on JAX and PyTorch. Either way the model gets what `engine/models/preprocessing.py` expects:
uint8 (B, 32, 32, 3) images, augmented and resized inside the model.

Every batch has the same shape, so a compiled step (an XLA program under JAX or `jit_compile`, a traced
graph under TensorFlow) is built once per fit, not twice (issue #27: 45,000 % 64 = 8 images made a second
program for the last training batch, likewise for validation and test):
- training drops the partial last batch. The order is reshuffled every epoch, so the dropped images
  differ from epoch to epoch and every image is still seen (the usual `drop_last` with shuffling); a set
  smaller than one batch is one batch.
- evaluation pads the last batch with copies of the last image and weights them 0 (`sample_weight`),
  so every image counts exactly once: the real rows weigh `evaluation_weight` (padded rows / real rows),
  which makes Keras' loss (a mean over each batch, averaged over batches by their size) the mean over the
  real images, regularisation terms included; accuracy is counted by `cifar_tui.engine.training.evaluate.
  MaskedAccuracy` (weight > 0: one per real image, exactly). `predict` returns the padded rows too:
  `predict_rows` drops them.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from cifar_tui.engine.data.batches import evaluation_rows, training_steps


class ArrayFeeder(keras.utils.PyDataset):
    """Batches from in-memory arrays, backend-neutral: training, (uint8 images (B, h, w, 3), int32 labels
    (B,)); evaluation, the same plus float32 sample weights (B,) (0 on padding; see the module).

    Training: a new seeded permutation each epoch (epoch k of seed s is the same in every run), whole
    batches only. Evaluation: the arrays' order, the last batch padded."""

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
        n = len(self.x)
        return training_steps(n, self.batch_size) if self.training else math.ceil(n / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if index >= len(self):
            raise IndexError(index)
        if self.training:
            idx = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            return self.x[idx], self.y[idx]
        idx, weights = evaluation_rows(len(self.x), self.batch_size, index)
        return self.x[idx], self.y[idx], weights

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()

    def __iter__(self):  # one epoch, then the next shuffle (as iterating a tf.data dataset again does)
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()


def make_feeder(x: np.ndarray, y: np.ndarray, batch_size: int, training: bool, seed: int = 0):
    """Batches for `fit`/`evaluate`/`predict`: training, (uint8 (B, h, w, 3), int32 (B,)) shuffled each
    epoch (seeded), whole batches only; evaluation, in order with float32 sample weights (B,), the last
    batch padded (weight 0). A tf.data dataset on the TensorFlow backend, an `ArrayFeeder` elsewhere."""
    if keras.backend.backend() == "tensorflow":
        from cifar_tui.engine.data.pipeline import make_dataset  # imports TensorFlow: only on its own backend

        return make_dataset(x, y, batch_size, training=training, seed=seed)
    return ArrayFeeder(x, y, batch_size, training=training, seed=seed)


def predict_rows(model, x: np.ndarray, batch_size: int, callbacks: list | None = None) -> np.ndarray:
    """`model.predict` over uint8 images `x` (N, h, w, 3) in whole batches: (N, ...) outputs, one row per
    image in order (the padding's rows dropped). Fewer rows than N when a callback stopped it early."""
    feeder = make_feeder(x, np.zeros(len(x), np.int32), batch_size, training=False)
    return model.predict(feeder, verbose=0, callbacks=callbacks)[:len(x)]
