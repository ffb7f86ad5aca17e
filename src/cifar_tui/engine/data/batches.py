"""How many batches a pass over `n` images makes, and how the last evaluation batch is padded: the arithmetic
both feeders share (`feeder.py`'s PyDataset and `pipeline.py`'s tf.data), with no backend imported.
Why every batch has one shape, and why padded rows weigh what they do: `feeder.py`'s docstring."""

from __future__ import annotations

import math

import numpy as np


def training_steps(n: int, batch_size: int) -> int:
    """Batches per training epoch over `n` images: whole batches only (at least one)."""
    return max(1, n // batch_size) if n else 0


def padded_length(n: int, batch_size: int) -> int:
    """Rows an evaluation pass feeds for `n` images: `n` rounded up to whole batches."""
    return math.ceil(n / batch_size) * batch_size


def evaluation_weight(n: int, batch_size: int) -> float:
    """The sample weight of a real row in a padded evaluation pass (padded rows weigh 0): padded / real
    rows, so that the batch-size-weighted mean of Keras' per-batch mean loss is the mean over real rows."""
    return padded_length(n, batch_size) / n if n else 1.0


def evaluation_rows(n: int, batch_size: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation batch `index` over `n` rows in order: the row indices (the last batch padded with the last
    row) and their float32 sample weights (`evaluation_weight` on real rows, 0 on padding)."""
    start = index * batch_size
    positions = np.arange(start, min(start + batch_size, padded_length(n, batch_size)))
    weights = np.where(positions < n, evaluation_weight(n, batch_size), 0.0).astype(np.float32)
    return np.minimum(positions, n - 1), weights
