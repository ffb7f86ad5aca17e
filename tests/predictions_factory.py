"""Scripted per-image predictions that realise events_factory's confusion matrices exactly, with tiny
synthetic test images (a flat colour per class, brighter with the image's index), for gallery tests."""

from __future__ import annotations

import numpy as np
from events_factory import CLASSES, confusion, full_run

from cifar_tui.engine.analysis.predictions import prediction_arrays
from cifar_tui.engine.run import events as ev

TEST_ACC = {"scratch": 0.5, "frozen": 0.8, "finetune": 0.9}  # as in events_factory.full_run


def synthetic_images(count: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """`count` 32x32 RGB images, 4 per class in class order, and their labels."""
    labels = np.repeat(np.arange(10), count // 10)
    images = np.zeros((count, 32, 32, 3), np.uint8)
    rows, cols = np.mgrid[0:32, 0:32]
    for i, label in enumerate(labels):
        images[i] = [20 + 4 * i, 40, 90]  # a dark background, different for each image
        disc = (rows - 16) ** 2 + (cols - 8 - label) ** 2 < (6 + i % 4) ** 2  # a disc that moves with the class
        images[i][disc] = [(25 * label) % 256, 200, 255 - 20 * label]
    return images, labels


def probabilities_for(matrix: list[list[int]], labels: np.ndarray, seed: int = 0,
                      mistakes_first: bool = False) -> np.ndarray:
    """Class probabilities (N, 10) whose argmax realises `matrix`, with distinct confidences. Each class's
    images take the row's cells in order (the diagonal first), or in reverse with `mistakes_first`."""
    rng = np.random.default_rng(seed)
    out = np.full((len(labels), 10), 0.0, np.float32)
    for true, row in enumerate(matrix):
        members = list(np.flatnonzero(labels == true))
        if mistakes_first:
            members.reverse()
        for predicted, n in enumerate(row):
            for _ in range(n):
                i = members.pop(0)
                top = rng.uniform(0.3, 0.95)
                out[i] = (1 - top) / 9
                out[i, predicted] = top
    return out


def predictions_event(strategy: str, count: int = 40) -> ev.TestPredictions:
    images, labels = synthetic_images(count)
    # finetune errs on images scratch got right: "broken by transfer" is not empty
    probabilities = probabilities_for(confusion(count, TEST_ACC[strategy]), labels, seed=len(strategy),
                                      mistakes_first=strategy == "finetune")
    arrays = prediction_arrays(probabilities, labels, images)
    return ev.TestPredictions(strategy=strategy, count=count, stored_images=len(arrays["image_index"]),
                              arrays=arrays, time=1_800_000_000.0)


def full_run_with_predictions(run_id: str = "20270115-080000-demo-abcd") -> list[ev.Event]:
    """events_factory.full_run with each strategy's TestPredictions right after its Evaluated."""
    out = []
    for event in full_run(run_id):
        out.append(event)
        if isinstance(event, ev.Evaluated):
            out.append(predictions_event(event.strategy))
    return out


def record_run_with_predictions(runs_dir, run_id: str = "20270115-080000-demo-abcd"):
    from cifar_tui.engine.store.recorder import RunRecorder

    recorder = RunRecorder(runs_dir, run_id)
    for event in full_run_with_predictions(run_id):
        recorder(event)
    recorder.close()
    return recorder.path


__all__ = ["CLASSES", "full_run_with_predictions", "predictions_event", "record_run_with_predictions"]
