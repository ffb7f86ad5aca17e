"""Validation split carved from training data, stratified and seeded; subsets; the digits fallback."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.data.sources import RawDataset, load_digits
from cifar_tui.engine.data.splits import prepare_data, split
from cifar_tui.engine.errors import ConfigError, DataError


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


def test_old_order_subsets_first_and_carves_validation_from_the_subset():
    """val_from "subset": what runs recorded before the k-shot protocol (and the quick preset) do."""
    raw = raw_with_ids()
    frac = split(raw, ExperimentConfig(train_fraction=0.2, val_fraction=0.1, val_from="subset"))
    assert len(frac.y_train) + len(frac.y_val) == 200
    assert np.bincount(np.concatenate([frac.y_train, frac.y_val])).tolist() == [20] * 10
    per = split(raw, ExperimentConfig(train_per_class=7, test_limit=50, val_fraction=0.2, val_from="subset"))
    assert np.bincount(np.concatenate([per.y_train, per.y_val])).tolist() == [7] * 10
    assert len(per.y_test) == 50 and np.bincount(per.y_test).tolist() == [5] * 10


def test_k_shot_trains_on_k_per_class_and_validates_on_the_same_set_outside_any_subset():
    raw = raw_with_ids()  # 100 images per class
    full = split(raw, ExperimentConfig(val_fraction=0.1, seed=3))
    subsets = [split(raw, ExperimentConfig(val_fraction=0.1, seed=3, **knob))
               for knob in ({"train_per_class": 1}, {"train_per_class": 5}, {"train_fraction": 0.2})]
    for data in subsets:  # one validation set (10% of the full set) for every subset: comparable selection
        assert ids(data.x_val) == ids(full.x_val) and len(data.y_val) == 100
        assert ids(data.x_train).isdisjoint(ids(data.x_val))
    assert [np.bincount(d.y_train).tolist() for d in subsets[:2]] == [[1] * 10, [5] * 10]  # 1/class: 10 images
    assert len(subsets[2].y_train) == 180  # a fraction of the 900 outside validation
    again = split(raw, ExperimentConfig(val_fraction=0.1, seed=3, train_per_class=5))
    np.testing.assert_array_equal(again.x_train, subsets[1].x_train)  # seeded
    other = split(raw, ExperimentConfig(val_fraction=0.1, seed=4, train_per_class=5))
    assert ids(other.x_train) != ids(subsets[1].x_train)


@pytest.mark.parametrize(("knobs", "message"), [
    ({"train_per_class": 91}, "91 training images per class asked, but the smallest class has only 90 after "
                              "the validation split"),
    ({"train_fraction": 0.0001}, "train fraction 0.0001 of 900 training images is no image at all"),
])
def test_a_subset_the_data_cannot_give_is_refused_in_one_sentence(knobs, message):
    with pytest.raises(ConfigError) as caught:
        split(raw_with_ids(), ExperimentConfig(val_fraction=0.1, **knobs))
    assert str(caught.value) == message


def test_k_and_fraction_together_or_k_below_one_are_refused():
    with pytest.raises(ConfigError, match="not both"):
        ExperimentConfig(train_per_class=5, train_fraction=0.5).validate()
    with pytest.raises(ConfigError, match="at least 1"):
        ExperimentConfig(train_per_class=0).validate()
    ExperimentConfig(train_per_class=1).validate()  # 1/class is the few-shot protocol's first point


def test_a_run_recorded_before_the_k_shot_protocol_resumes_with_its_old_split():
    from cifar_tui.engine.run.resume import recorded_before

    stored = ExperimentConfig(train_per_class=7, val_fraction=0.2).to_dict()
    del stored["val_from"]  # what a config.json written before the knob holds
    config = ExperimentConfig.from_dict({**recorded_before(stored), **stored})
    assert config.val_from == "subset"
    data = split(raw_with_ids(), config)
    assert np.bincount(np.concatenate([data.y_train, data.y_val])).tolist() == [7] * 10  # as it started


def test_digits_is_real_32px_rgb_and_labelled():
    raw = load_digits()
    assert raw.x_train.shape[1:] == (32, 32, 3) and raw.x_train.dtype == np.uint8
    assert raw.x_train.max() == 255 and len(raw.y_train) + len(raw.y_test) == 1797
    assert raw.name == "digits"


def test_fallback_to_digits_only_when_allowed(keras_home, monkeypatch):
    def offline(*a, **k):
        raise DataError("CIFAR-10 is not here")

    monkeypatch.setattr("cifar_tui.engine.data.sources.load_cifar10", offline)
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


def test_both_orders_give_the_same_split_of_the_full_training_set():
    """So a study recorded before the k-shot protocol, on the full set, continues under the same fingerprint."""
    raw = raw_with_ids()
    new, old = split(raw, ExperimentConfig(seed=5)), split(raw, ExperimentConfig(seed=5, val_from="subset"))
    np.testing.assert_array_equal(new.x_val, old.x_val)
    np.testing.assert_array_equal(new.x_train, old.x_train)


def test_a_study_recorded_before_the_knob_keeps_its_fingerprint_where_its_split_is_unchanged():
    import hashlib
    import json

    from cifar_tui.engine.study.spec import LATER_KNOBS, parse_spec

    def as_before(spec):  # what the fingerprint hashed before the knob existed (and before #14's backend, jit,
        # and the knobs added later still: domain_distance, transfer_translate)
        configs = [{**{k: v for k, v in c.config.to_dict().items() if k not in ("val_from", "backend", *LATER_KNOBS)},
                    "jit": False} for c in spec.cells()]
        return hashlib.sha256(json.dumps(configs, sort_keys=True).encode()).hexdigest()[:16]

    for base in ({"preset": "quick"}, {"preset": "paper"}):  # the quick subset's order, the full set
        spec = parse_spec({"name": "old", "base": base, "axes": {"seed": [0, 1]}})
        assert spec.fingerprint() == as_before(spec)
    few = parse_spec({"name": "old", "axes": {"train_size": ["5/class"], "seed": [0]}})
    assert few.fingerprint() != as_before(few)  # its split changed: continuing it would mix two protocols


def test_how_cells_compute_leaves_the_study_fingerprint_alone():
    """Backend and XLA are execution, not the grid (#14): a study continues on another backend or with --jit."""
    from cifar_tui.engine.study.spec import parse_spec

    def spec(**base):
        return parse_spec({"name": "s", "base": {"preset": "quick", **base}, "axes": {"seed": [0, 1]}})

    plain = spec().fingerprint()
    assert spec(backend="jax").fingerprint() == plain
    assert spec(jit=True).fingerprint() == spec(jit=None).fingerprint() == plain
    assert spec(frozen_epochs=3).fingerprint() != plain  # a knob of the grid still changes it
