"""Validation split carved from training data, stratified and seeded; subsets; the digits fallback."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import ExperimentConfig
from engine.data.sources import RawDataset, load_digits
from engine.data.splits import prepare_data, split
from engine.errors import DataError


def raw_with_ids(n_train=1000, n_test=200) -> RawDataset:
    """Images whose first pixel bytes encode their index, so overlaps can be detected exactly."""
    def images(n, offset):
        x = np.zeros((n, 32, 32, 3), np.uint8)
        ids = np.arange(n) + offset
        x[:, 0, 0, 0], x[:, 0, 0, 1] = ids // 256, ids % 256
        return x

    return RawDataset("cifar10", "test", [str(i) for i in range(10)], images(n_train, 0),
                      np.arange(n_train) % 10, images(n_test, 5000), np.arange(n_test) % 10)


def ids(x):
    return set((x[:, 0, 0, 0].astype(int) * 256 + x[:, 0, 0, 1]).tolist())


def test_val_split_is_disjoint_stratified_and_seeded():
    raw = raw_with_ids()
    data = split(raw, ExperimentConfig(val_fraction=0.1, seed=3))
    assert len(data.y_val) == 100 and len(data.y_train) == 900
    assert ids(data.x_train).isdisjoint(ids(data.x_val))
    assert ids(data.x_train) | ids(data.x_val) == set(range(1000))
    assert np.bincount(data.y_val).tolist() == [10] * 10  # stratified
    again = split(raw, ExperimentConfig(val_fraction=0.1, seed=3))
    np.testing.assert_array_equal(again.x_val, data.x_val)
    other = split(raw, ExperimentConfig(val_fraction=0.1, seed=4))
    assert ids(other.x_val) != ids(data.x_val)


def test_test_set_never_enters_training_or_validation():
    data = split(raw_with_ids(), ExperimentConfig())
    test_ids = ids(data.x_test)
    assert test_ids.isdisjoint(ids(data.x_train) | ids(data.x_val))
    assert len(data.y_test) == 200


def test_subsets_fraction_per_class_and_test_limit():
    raw = raw_with_ids()
    frac = split(raw, ExperimentConfig(train_fraction=0.2, val_fraction=0.1))
    assert len(frac.y_train) + len(frac.y_val) == 200
    assert np.bincount(np.concatenate([frac.y_train, frac.y_val])).tolist() == [20] * 10
    per = split(raw, ExperimentConfig(train_per_class=7, test_limit=50, val_fraction=0.2))
    assert np.bincount(np.concatenate([per.y_train, per.y_val])).tolist() == [7] * 10
    assert len(per.y_test) == 50 and np.bincount(per.y_test).tolist() == [5] * 10


def test_digits_is_real_32px_rgb_and_labelled():
    raw = load_digits()
    assert raw.x_train.shape[1:] == (32, 32, 3) and raw.x_train.dtype == np.uint8
    assert raw.x_train.max() == 255 and len(raw.y_train) + len(raw.y_test) == 1797
    assert raw.name == "digits"


def test_fallback_to_digits_only_when_allowed(keras_home, monkeypatch):
    def offline(*a, **k):
        raise DataError("CIFAR-10 is not here")

    monkeypatch.setattr("engine.data.splits.load_cifar10", offline)
    with pytest.raises(DataError):
        prepare_data(ExperimentConfig())
    data = prepare_data(ExperimentConfig(allow_fallback=True))
    assert data.name == "digits"
    assert data.describe()["substituted_for"] == "cifar10"
    assert "DIGITS USED INSTEAD OF CIFAR-10" in data.notices[0]


def test_select_on_test_reproduces_the_leak_and_is_labelled():
    raw = raw_with_ids()
    leaky = split(raw, ExperimentConfig(select_on="test", test_limit=100))
    assert ids(leaky.x_val) == ids(leaky.x_test)  # validation (model selection) on the test images
    assert len(leaky.y_train) == 1000  # no validation carved from train: the notebook trained on all of it
    right = split(raw, ExperimentConfig(test_limit=100))
    assert not ids(right.x_val) & ids(right.x_test) and len(right.y_train) == 900
    assert any("test set used as validation" in m for m in ExperimentConfig(select_on="test").mistakes())
    assert ExperimentConfig().mistakes() == []
