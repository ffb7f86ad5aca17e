"""From a raw data set to the three disjoint sets of a sound experiment.

Order (`val_from = "full"`, the default): a stratified validation split carved from the FULL training set
(`val_fraction` of it; model selection happens here), then the training subset drawn from the images
outside it: `train_per_class` images of each class (k-shot, class-balanced, as BiT; Kolesnikov et al. 2020)
or a stratified `train_fraction` of them. Every subset of one data set therefore selects on the same
validation set. Runs recorded before this order (`val_from = "subset"`, and the quick preset) drew the
subset first and carved validation from it. The test set, optionally limited to a stratified subset, is
touched once, after training. All seeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.data.sources import RawDataset, load_digits
from cifar_tui.engine.errors import ConfigError, DataError

SAMPLE_IMAGES = 512  # PreparedData.x_sample


@dataclass
class PreparedData:
    name: str  # the data set ("cifar10", "mnist", ...; "folder:<name>" for an image folder)
    source: str
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    notices: list[str] = field(default_factory=list)  # e.g. "digits used instead of CIFAR-10 because ..."
    substituted_for: str = ""  # the data set that was asked for, when another one is used instead
    augmentation: str = "none"  # the training augmentation the run uses (config.augment, "auto" resolved)
    details: dict = field(default_factory=dict)  # RawDataset.details: conversion; a folder's counts and digest
    # A fixed sample of the full training set (seed 0, the same in every run and seed, labels unused), for
    # measures of the data set itself, such as its distance from ImageNet (engine/analysis/domain_distance.py)
    x_sample: np.ndarray | None = field(default=None, repr=False)

    def describe(self) -> dict:
        return {
            "name": self.name, "source": self.source, "class_names": self.class_names,
            "train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test),
            "substituted_for": self.substituted_for, "notices": self.notices, "augmentation": self.augmentation,
            **self.details,
        }


def stratified_take(y: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Indices of a stratified sample of `count` items (class shares kept, seeded, sorted)."""
    if count >= len(y):
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    try:
        taken, _ = train_test_split(idx, train_size=count, stratify=y, random_state=seed)
    except ValueError:  # too few per class to stratify: fall back to a seeded plain sample
        taken = np.random.default_rng(seed).choice(idx, size=count, replace=False)
    return np.sort(taken)


def per_class_take(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]
    return np.sort(np.concatenate(chosen))


def split_indices(y: np.ndarray, config: ExperimentConfig) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, validation indices) into the training labels `y` (shape (N,), int class ids),
    seeded and sorted. Labels only, so the same split can be checked before any image is loaded.
    With `select_on = "test"` the validation indices are empty (the test set stands in).
    Raises ConfigError (one sentence) when the configuration cannot be met by these labels."""
    seed = config.seed
    if config.select_on == "test":  # no validation split: the subset of the full set trains
        lenient = config.val_from == "subset"
        return _subset(y, np.arange(len(y)), config, seed, lenient), np.array([], dtype=np.int64)
    if config.val_from == "subset":  # the order before the k-shot protocol (old runs, the quick preset)
        keep = _subset(y, np.arange(len(y)), config, seed, lenient=True)
        n_val = max(1, round(len(keep) * config.val_fraction))
        if len(keep) - n_val < 1:
            raise ConfigError(f"only {len(keep)} training images after subsetting: too few to carve a "
                              f"validation set")
        val_pos = stratified_take(y[keep], n_val, seed + 1)
        train_mask = np.ones(len(keep), dtype=bool)
        train_mask[val_pos] = False
        return keep[train_mask], keep[val_pos]
    n_val = max(1, round(len(y) * config.val_fraction))
    if len(y) - n_val < 1:
        raise ConfigError(f"only {len(y)} training images: too few to carve a validation set")
    val_idx = stratified_take(y, n_val, seed + 1)
    rest = np.setdiff1d(np.arange(len(y)), val_idx)
    return _subset(y, rest, config, seed), val_idx


def _subset(y: np.ndarray, pool: np.ndarray, config: ExperimentConfig, seed: int,
            lenient: bool = False) -> np.ndarray:
    """The training subset of `pool` (indices into y). `lenient`: the old order's silent caps."""
    if config.train_per_class is not None:
        k = config.train_per_class
        smallest = int(np.bincount(y[pool]).min()) if len(pool) else 0
        if k > smallest and not lenient:
            where = " after the validation split" if config.select_on == "val" else ""
            raise ConfigError(f"{k} training images per class asked, but the smallest class has only "
                              f"{smallest}{where}")
        return pool[per_class_take(y[pool], k, seed)]
    count = round(len(pool) * config.train_fraction)
    if count < 1 and not lenient:
        raise ConfigError(f"train fraction {config.train_fraction:g} of {len(pool):,} training images is "
                          f"no image at all")
    return pool[stratified_take(y[pool], max(1, count), seed)]


def split(raw: RawDataset, config: ExperimentConfig, notices: list[str] | None = None,
          substituted_for: str = "") -> PreparedData:
    augmentation = raw.augmentation if config.augment == "auto" else config.augment
    train_idx, val_idx = split_indices(raw.y_train, config)
    test_idx = (stratified_take(raw.y_test, config.test_limit, config.seed + 2)
                if config.test_limit else np.arange(len(raw.y_test)))
    x_test, y_test = raw.x_test[test_idx], raw.y_test[test_idx]
    if config.select_on == "test":  # the notebook's leak, for the ablation: validate (and select) on test
        x_val, y_val = x_test, y_test
    else:
        x_val, y_val = raw.x_train[val_idx], raw.y_train[val_idx]
    sample = np.sort(np.random.default_rng(0).permutation(len(raw.y_train))[:SAMPLE_IMAGES])
    return PreparedData(
        name=raw.name, source=raw.source, class_names=raw.class_names,
        x_train=raw.x_train[train_idx], y_train=raw.y_train[train_idx], x_val=x_val, y_val=y_val,
        x_test=x_test, y_test=y_test, notices=list(notices or []),
        substituted_for=substituted_for, augmentation=augmentation,
        details={k: v for k, v in raw.details.items() if k != "notes"}, x_sample=raw.x_train[sample],
    )


def prepare_data(config: ExperimentConfig, report=lambda _text: None) -> PreparedData:
    """Load the configured data set and split it. CIFAR-10 falls back to digits only if `allow_fallback`.
    `report` receives download progress lines, if the data set has to be downloaded."""
    from cifar_tui.engine.data.catalog import load

    notices: list[str] = []
    substituted_for = ""
    try:
        raw = load(config.dataset, config.data_dir, report)
    except DataError as exc:
        if config.dataset != "cifar10" or not config.allow_fallback or config.data_dir:
            raise
        notices.append(f"DIGITS USED INSTEAD OF CIFAR-10: {exc}")
        raw = load_digits()
        substituted_for = "cifar10"
    return split(raw, config, notices + raw.details.get("notes", []), substituted_for)
