"""From a raw data set to the three disjoint sets of a sound experiment.

Order: a stratified subset of the training set (`train_fraction` / `train_per_class`), then a stratified
validation split carved from that subset (model selection happens here), and the test set, optionally
limited to a stratified subset, which the runner touches once, after training. All seeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.config import ExperimentConfig
from engine.data.sources import RawDataset, load_cifar10, load_digits
from engine.errors import ConfigError, DataError


@dataclass
class PreparedData:
    name: str  # "cifar10" or "digits"
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

    def describe(self) -> dict:
        return {
            "name": self.name, "source": self.source, "class_names": self.class_names,
            "train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test),
            "substituted_for": self.substituted_for, "notices": self.notices, "augmentation": self.augmentation,
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


def split(raw: RawDataset, config: ExperimentConfig, notices: list[str] | None = None,
          substituted_for: str = "") -> PreparedData:
    seed = config.seed
    augmentation = raw.augmentation if config.augment == "auto" else config.augment
    if config.train_per_class is not None:
        keep = per_class_take(raw.y_train, config.train_per_class, seed)
    else:
        keep = stratified_take(raw.y_train, max(1, round(len(raw.y_train) * config.train_fraction)), seed)
    x, y = raw.x_train[keep], raw.y_train[keep]
    test_idx = (stratified_take(raw.y_test, config.test_limit, seed + 2)
                if config.test_limit else np.arange(len(raw.y_test)))
    x_test, y_test = raw.x_test[test_idx], raw.y_test[test_idx]

    if config.select_on == "test":  # the notebook's leak, for the ablation: validate (and select) on test
        return PreparedData(
            name=raw.name, source=raw.source, class_names=raw.class_names, x_train=x, y_train=y,
            x_val=x_test, y_val=y_test, x_test=x_test, y_test=y_test, notices=list(notices or []),
            substituted_for=substituted_for, augmentation=augmentation)

    n_val = max(1, round(len(y) * config.val_fraction))
    if len(y) - n_val < 1:
        raise ConfigError(f"only {len(y)} training images after subsetting: too few to carve a validation set")
    val_idx = stratified_take(y, n_val, seed + 1)
    train_mask = np.ones(len(y), dtype=bool)
    train_mask[val_idx] = False

    return PreparedData(
        name=raw.name, source=raw.source, class_names=raw.class_names,
        x_train=x[train_mask], y_train=y[train_mask], x_val=x[val_idx], y_val=y[val_idx],
        x_test=x_test, y_test=y_test, notices=list(notices or []),
        substituted_for=substituted_for, augmentation=augmentation,
    )


def prepare_data(config: ExperimentConfig, report=lambda _text: None) -> PreparedData:
    """Load the configured data set and split it. Falls back to digits only if `allow_fallback`.
    `report` receives download progress lines, if CIFAR-10 has to be downloaded."""
    notices: list[str] = []
    substituted_for = ""
    if config.dataset == "digits":
        raw = load_digits()
    else:
        try:
            raw = load_cifar10(config.data_dir, report=report)
        except DataError as exc:
            if not config.allow_fallback or config.data_dir:
                raise
            notices.append(f"DIGITS USED INSTEAD OF CIFAR-10: {exc}")
            raw = load_digits()
            substituted_for = "cifar10"
    return split(raw, config, notices, substituted_for)
