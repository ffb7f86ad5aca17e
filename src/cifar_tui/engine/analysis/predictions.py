"""Per-image test results of a strategy, and the error-analysis views built on them.

What is recorded (`prediction_arrays`, written by the run store to `strategies/<name>/predictions.npz`):
    labels         uint8 (N,)      true class of each test image, in test-set order
    predicted      uint8 (N,)      the argmax class
    probabilities  float16 (N, C)  every class probability (float16: 2 bytes each, plenty for display)
    image_index    int32 (K,)      which test images' pixels were kept, ascending
    images         uint8 (K, H, W, 3)  those pixels, as the data set gave them (before any resizing)

Pixels are kept only for the images a gallery can show, so a run's folder stays small: every mistake
(highest loss first, at most `MAX_MISTAKES`), the `TOP_LOSSES` highest losses even if right, and the
`CORRECT_PER_CLASS` most confident correct images of each class (the diagonal cells). A run from history
then needs neither the data set files nor the same machine to show its galleries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_MISTAKES = 2000  # ~6 MB of 32x32 pixels at worst, before compression
TOP_LOSSES = 48
CORRECT_PER_CLASS = 24


def losses(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of each image, -log p(true class), in nats; shape (N,)."""
    picked = probabilities[np.arange(len(labels)), labels].astype(np.float64)
    return -np.log(np.clip(picked, 1e-7, 1.0))


def kept_images(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the test images whose pixels are worth keeping; see the module docstring."""
    predicted = probabilities.argmax(axis=1)
    loss = losses(probabilities, labels)
    by_loss = np.argsort(-loss, kind="stable")
    wrong = by_loss[predicted[by_loss] != labels[by_loss]][:MAX_MISTAKES]
    keep = [wrong, by_loss[:TOP_LOSSES]]
    confidence = probabilities.max(axis=1)
    for c in np.unique(labels):
        right = np.flatnonzero((labels == c) & (predicted == c))
        keep.append(right[np.argsort(-confidence[right], kind="stable")][:CORRECT_PER_CLASS])
    return np.unique(np.concatenate(keep)).astype(np.int32)


def prediction_arrays(probabilities: np.ndarray, labels: np.ndarray, images: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays to record for one strategy: probabilities (N, C) float, labels (N,) int, images (N, H, W, 3)
    uint8 in the same order."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    labels = np.asarray(labels).astype(np.int64)
    keep = kept_images(probabilities, labels)
    return {
        "labels": labels.astype(np.uint8), "predicted": probabilities.argmax(axis=1).astype(np.uint8),
        "probabilities": probabilities.astype(np.float16), "image_index": keep,
        "images": np.asarray(images)[keep].astype(np.uint8),
    }


@dataclass
class GalleryItem:
    index: int  # position in the run's test set
    true: int
    predicted: int
    confidence: float  # probability of the predicted class
    true_probability: float
    image: np.ndarray | None  # uint8 (H, W, 3), None when its pixels were not kept


class Predictions:
    """One strategy's recorded predictions (the arrays above), with the views the galleries show."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.labels = arrays["labels"].astype(np.int64)
        self.predicted = arrays["predicted"].astype(np.int64)
        self.probabilities = arrays["probabilities"].astype(np.float32)
        self._where = {int(i): k for k, i in enumerate(arrays["image_index"])}
        self._images = arrays["images"]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities[np.arange(len(self)), self.predicted]

    @property
    def wrong(self) -> np.ndarray:
        return self.predicted != self.labels

    def cell(self, true: int, predicted: int) -> np.ndarray:
        """Indices of the confusion-matrix cell (true, predicted), most confident prediction first."""
        members = np.flatnonzero((self.labels == true) & (self.predicted == predicted))
        return members[np.argsort(-self.confidence[members], kind="stable")]

    def top_losses(self, count: int = TOP_LOSSES) -> np.ndarray:
        """The `count` images with the highest loss, highest first (fastai's plot_top_losses)."""
        return np.argsort(-losses(self.probabilities, self.labels), kind="stable")[:count]

    def item(self, index: int) -> GalleryItem:
        index = int(index)
        stored = self._where.get(index)
        return GalleryItem(index, int(self.labels[index]), int(self.predicted[index]),
                           float(self.confidence[index]), float(self.probabilities[index, self.labels[index]]),
                           self._images[stored] if stored is not None else None)

    def items(self, indices) -> list[GalleryItem]:
        return [self.item(i) for i in indices]


@dataclass
class FixedByTransfer:
    """Test images one strategy got wrong and another got right, in the same run (same test set)."""

    fixed: np.ndarray  # indices: `before` wrong, `after` right, most confident `after` first
    broken: np.ndarray  # the reverse: `before` right, `after` wrong, most confident `after` first
    fixed_per_class: list[int]  # by true class
    broken_per_class: list[int]


def fixed_by_transfer(before: Predictions, after: Predictions, num_classes: int) -> FixedByTransfer:
    """`before` is usually scratch and `after` finetune. Raises ValueError if the test sets differ."""
    if len(before) != len(after) or not np.array_equal(before.labels, after.labels):
        raise ValueError("the two strategies were tested on different images")

    def ranked(mask: np.ndarray) -> np.ndarray:
        members = np.flatnonzero(mask)
        return members[np.argsort(-after.confidence[members], kind="stable")]

    fixed = ranked(before.wrong & ~after.wrong)
    broken = ranked(~before.wrong & after.wrong)
    count = lambda idx: np.bincount(before.labels[idx], minlength=num_classes).astype(int).tolist()  # noqa: E731
    return FixedByTransfer(fixed, broken, count(fixed), count(broken))
