"""Can a configuration's split be made from its data set? Answered from the labels alone, before any image
or TensorFlow loads, so a run refuses in one line and a study marks the cell up front (`study --dry-run`).

The labels are those of the data set as shipped: CIFAR-10's training set has 5,000 images of each of its
10 classes (any copy, downloaded or `--data-dir`); digits' are read from scikit-learn (no download). A
local copy that differs, or CIFAR-10 replaced by digits at run time (`allow_fallback`), is checked again
when the run splits its real data (engine/data/splits.py raises the same ConfigError).
"""

from __future__ import annotations

import functools

import numpy as np

from engine.config import ExperimentConfig
from engine.errors import ConfigError

CIFAR10_TRAIN_PER_CLASS = 5_000  # Krizhevsky 2009: 50,000 training images, 10 balanced classes
CIFAR10_TEST_PER_CLASS = 1_000  # and 10,000 test images


@functools.cache
def train_labels(dataset: str) -> np.ndarray:
    """The training labels of a data set as shipped, shape (N,), int64 class ids."""
    if dataset == "digits":
        from engine.data.sources import load_digits

        return load_digits().y_train
    return np.repeat(np.arange(10, dtype=np.int64), CIFAR10_TRAIN_PER_CLASS)


@functools.cache
def test_count(dataset: str) -> int:
    """Test images of a data set as shipped (CIFAR-10: 10,000)."""
    if dataset == "digits":
        from engine.data.sources import load_digits

        return len(load_digits().y_test)
    return 10 * CIFAR10_TEST_PER_CLASS


def split_counts(config: ExperimentConfig) -> tuple[int, int, int] | None:
    """(training, validation, test) images of the configuration's split, None when it cannot be made."""
    from engine.data.splits import split_indices

    try:
        train, val = split_indices(train_labels(config.dataset), config)
    except ConfigError:
        return None
    test = test_count(config.dataset)
    return len(train), len(val), min(test, config.test_limit or test)


def fit_problem(config: ExperimentConfig) -> str:
    """Why this configuration's split cannot be made ('' when it can), one sentence."""
    from engine.data.splits import split_indices

    try:
        split_indices(train_labels(config.dataset), config)
    except ConfigError as exc:
        return str(exc)
    return ""


def check_fits(config: ExperimentConfig) -> None:
    """Raise ConfigError (one sentence, naming the data set) when `fit_problem` finds one."""
    problem = fit_problem(config)
    if problem:
        raise ConfigError(f"{problem} ({config.dataset})")
