"""Per-image predictions: what is kept, the run store's file, and the views (cells, top losses, fixed by
transfer) checked against hand computations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from events_factory import confusion, full_run
from predictions_factory import TEST_ACC, record_run_with_predictions, synthetic_images

from cifar_tui.engine.analysis.predictions import Predictions, fixed_by_transfer, prediction_arrays
from cifar_tui.engine.errors import StoreError
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.predictions import predictions_path, read_predictions
from cifar_tui.engine.store.reader import load_run
from cifar_tui.engine.store.recorder import RunRecorder

RUN = "20270115-080000-demo-abcd"


def test_recorded_run_has_arrays_matching_its_confusion_matrices(tmp_path):
    folder = record_run_with_predictions(tmp_path)
    lines = [json.loads(line) for line in (folder / paths.EVENTS_FILE).read_text().splitlines()]
    logged = [line for line in lines if line["type"] == "test_predictions"]
    assert [line["strategy"] for line in logged] == ["scratch", "frozen", "finetune"]
    assert all("arrays" not in line and line["count"] == 40 for line in logged)  # the log stays small
    state = load_run(tmp_path, RUN).state
    for name, acc in TEST_ACC.items():
        recorded = read_predictions(folder, name)
        cells = [[len(recorded.cell(t, p)) for p in range(10)] for t in range(10)]
        assert cells == confusion(40, acc) == state.strategies[name].confusion_matrix
        assert state.strategies[name].predictions == 40


def test_pixels_kept_for_every_mistake_and_the_right_images(tmp_path):
    images, labels = synthetic_images(40)
    probabilities = np.full((40, 10), 0.01, np.float32)
    probabilities[np.arange(40), labels] = 0.91
    probabilities[3] = 0.01
    probabilities[3, 7] = 0.91  # one mistake
    recorded = Predictions(prediction_arrays(probabilities, labels, images))
    item = recorded.item(3)
    assert (item.true, item.predicted) == (0, 7) and np.array_equal(item.image, images[3])
    assert item.true_probability == pytest.approx(0.01, abs=1e-3)
    assert recorded.top_losses(1).tolist() == [3]
    assert all(recorded.item(i).image is not None for i in range(40))  # 40 < the per-class allowance


def test_cell_is_most_confident_first():
    labels = np.array([1, 1, 1, 0])
    probabilities = np.full((4, 3), 0.0, np.float32)
    probabilities[:, 2] = [0.6, 0.9, 0.7, 0.0]
    probabilities[:, 0] = 1 - probabilities[:, 2]
    recorded = Predictions(prediction_arrays(probabilities, labels, np.zeros((4, 8, 8, 3), np.uint8)))
    assert recorded.cell(1, 2).tolist() == [1, 2, 0]
    assert recorded.cell(0, 0).tolist() == [3]


def test_fixed_by_transfer_matches_a_hand_count():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    scratch_pred = np.array([1, 0, 0, 1, 0, 0, 2])  # wrong: 0, 2, 4, 5
    finetune_pred = np.array([0, 0, 1, 0, 2, 1, 0])  # wrong: 3, 5, 6

    def recorded(predicted):
        probabilities = np.eye(3, dtype=np.float32)[predicted] * 0.8 + 0.2 / 3
        return Predictions(prediction_arrays(probabilities, labels, np.zeros((7, 4, 4, 3), np.uint8)))

    result = fixed_by_transfer(recorded(scratch_pred), recorded(finetune_pred), 3)
    # by hand: scratch wrong and finetune right = {0, 2, 4}; scratch right and finetune wrong = {3, 6}
    assert sorted(result.fixed.tolist()) == [0, 2, 4] and sorted(result.broken.tolist()) == [3, 6]
    assert result.fixed_per_class == [1, 1, 1] and result.broken_per_class == [0, 1, 1]


def test_runs_without_predictions_say_unavailable_and_damaged_files_say_damaged(tmp_path):
    recorder = RunRecorder(tmp_path, RUN)
    for event in full_run(RUN):
        recorder(event)
    recorder.close()
    with pytest.raises(StoreError, match="unavailable"):
        read_predictions(tmp_path / RUN, "scratch")
    predictions_path(tmp_path / RUN, "scratch").write_bytes(b"not a zip")
    with pytest.raises(StoreError, match="damaged"):
        read_predictions(tmp_path / RUN, "scratch")
