"""Which test images each strategy of a recorded run got right, and which test images those were.

Read from `strategies/<name>/predictions.npz` (its `labels` and `predicted` arrays only: the pixels and
probabilities stay on disk) and the run's `summary.json`. The statistics pair two strategies, or two runs,
image by image (engine/analysis/paired_tests.py) only where the images are the same: same data set, same
number of test images, same `test_limit` draw (it depends on the seed) and the same labels in order.
Reads are cached by file size and modification time: the Studies screen re-reads a study every few seconds.
"""

from __future__ import annotations

import json
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cifar_tui.engine.store.paths import SUMMARY_FILE
from cifar_tui.engine.store.predictions import predictions_path


@dataclass
class PerImageResults:
    """One run's test images: an identity (`key`), the labels in order, and per strategy a bool (N,) array."""

    key: tuple[Any, ...]  # (data set, test images, test_limit, the seed that drew the subset or None)
    labels: np.ndarray | None = None  # int (N,), from the first strategy with predictions
    correct: dict[str, np.ndarray] = field(default_factory=dict)

    def same_images(self, other: PerImageResults) -> bool:
        return (self.key == other.key and self.labels is not None and other.labels is not None
                and np.array_equal(self.labels, other.labels))


_CACHE: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray] | None] = {}
_CACHE_LIMIT = 4096  # files; ~20 kB each at 10,000 test images
_CACHE_LOCK = threading.Lock()  # the app reads from worker threads (Studies screen, verdict)


def _arrays(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(labels, correct) of one predictions file; None when it is missing or unreadable (a damaged file
    makes the statistics fall back, it is reported by the galleries that need it)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    try:
        with np.load(path, allow_pickle=False) as data:  # never unpickle a file from disk
            labels, predicted = data["labels"].astype(np.int64), data["predicted"].astype(np.int64)
        found = (labels, predicted == labels) if labels.shape == predicted.shape else None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        found = None
    with _CACHE_LOCK:
        _CACHE[key] = found
        if len(_CACHE) > _CACHE_LIMIT:
            _CACHE.pop(next(iter(_CACHE)))
    return found


def read_test_sample(run_dir: Path, accuracies: dict[str, float], summary: dict[str, Any] | None = None
                     ) -> PerImageResults:
    """The run's test sample with the per-image results of the strategies in `accuracies` (name -> recorded
    test accuracy) that have them on file and whose share of right images is that accuracy (within half an
    image: predictions of another model than the one tested are not its results). `summary`: the run's
    summary (data set and config), read from its summary.json when not given."""
    if summary is None:
        try:
            summary = json.loads((Path(run_dir) / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = {}
    summary = summary if isinstance(summary, dict) else {}
    dataset, config = summary.get("dataset") or {}, summary.get("config") or {}
    test_images, limit = dataset.get("test"), config.get("test_limit")
    sample = PerImageResults((dataset.get("name"), test_images, limit, config.get("seed") if limit else None))
    for name, accuracy in accuracies.items():
        found = _arrays(predictions_path(Path(run_dir), name))
        if found is None or (test_images is not None and len(found[0]) != test_images):
            continue
        labels, correct = found
        if abs(float(correct.mean()) - accuracy) > 0.5 / len(correct):
            continue
        if sample.labels is None:
            sample.labels = labels
        elif not np.array_equal(sample.labels, labels):
            continue  # another test set than the run's first strategy: not pairable, left out
        sample.correct[name] = correct
    return sample
