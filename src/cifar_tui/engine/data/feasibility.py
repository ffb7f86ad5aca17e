"""Can a configuration's split be made from its data set? Answered from the labels alone, before any image
or TensorFlow loads, so a run refuses in one line and a study marks the cell up front (`study --dry-run`).

The labels are those of the data set as shipped (engine/data/catalog.py: CIFAR-10's training set has 5,000
images of each of its 10 classes, CIFAR-100's 500 of 100, MNIST's its own counts), digits' are read from
scikit-learn (no download), an image folder's from its listing (no image decoded). A local copy that
differs, or CIFAR-10 replaced by digits at run time (`allow_fallback`), is checked again when the run splits
its real data (engine/data/splits.py raises the same ConfigError).
"""

from __future__ import annotations

import functools

import numpy as np

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import ConfigError, DataError

SHIPPED_TEST_IMAGES = 10_000  # CIFAR-10, CIFAR-100, MNIST and Fashion-MNIST each ship 10,000 test images

def train_labels(dataset: str, data_dir: str | None = None) -> np.ndarray:
    """The training labels of a data set as shipped (an image folder's from its listing, read afresh each
    time: the folder may change while the app is open), shape (N,), int64."""
    from cifar_tui.engine.data.catalog import train_labels as shipped

    return shipped(dataset, data_dir) if dataset == "folder" else _shipped(dataset)


@functools.cache
def _shipped(dataset: str) -> np.ndarray:
    from cifar_tui.engine.data.catalog import train_labels as shipped

    return shipped(dataset)


@functools.cache
def test_count(dataset: str) -> int:
    """Test images of a data set as shipped (CIFAR-10: 10,000); an image folder's are not known here."""
    if dataset == "digits":
        from cifar_tui.engine.data.sources import load_digits

        return len(load_digits().y_test)
    return SHIPPED_TEST_IMAGES


def split_counts(config: ExperimentConfig) -> tuple[int, int, int] | None:
    """(training, validation, test) images of the configuration's split, None when it cannot be made or
    is not known without reading the data (an image folder)."""
    from cifar_tui.engine.data.splits import split_indices

    if config.dataset == "folder":
        return None
    try:
        train, val = split_indices(train_labels(config.dataset), config)
    except ConfigError:
        return None
    test = test_count(config.dataset)
    return len(train), len(val), min(test, config.test_limit or test)


def fit_problem(config: ExperimentConfig) -> str:
    """Why this configuration's split cannot be made ('' when it can), one sentence. An image folder that
    cannot be listed is such a reason too (its DataError's line)."""
    from cifar_tui.engine.data.splits import split_indices

    try:
        split_indices(train_labels(config.dataset, config.data_dir if config.dataset == "folder" else None), config)
    except (ConfigError, DataError) as exc:
        return str(exc)
    return ""


def check_fits(config: ExperimentConfig) -> None:
    """Raise ConfigError (one sentence, naming the data set) when `fit_problem` finds one."""
    problem = fit_problem(config)
    if problem:
        raise ConfigError(f"{problem} ({config.dataset})")
