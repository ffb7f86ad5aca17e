"""After fitting: select the weights on the validation split, then, and only then, touch the test set once."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cifar_tui.engine.analysis.backbone_change import snapshot
from cifar_tui.engine.data.feeder import predict_rows
from cifar_tui.engine.run.events import Evaluated, LogMessage, TestPredictions
from cifar_tui.engine.run.state import before_unfreezing_note
from cifar_tui.engine.training.evaluate import test_metrics
from cifar_tui.engine.training.finetune_outcome import phase_of
from cifar_tui.engine.training.fit_phases import Fitted
from cifar_tui.engine.training.strategy_run import Feeds, StrategyRun


@dataclass
class Selected:
    """The tested weights: their 1-based epoch, validation accuracy and phase, and, when fine-tuning's best
    epoch came before unfreezing, the backbone weights fine-tuning produced (`finetuned`, for the analysis)."""

    epoch: int
    val_accuracy: float
    phase: str
    finetuned: dict | None = None


def select_weights(run: StrategyRun, built, fitted: Fitted, feeds: Feeds, analyse: bool) -> Selected:
    """Pick the tested weights, by `config.keep`: the best validation epoch (restored into the model), or the
    weights training ended with (the notebook's way: last epoch, or early stopping's)."""
    epoch, val_accuracy = fitted.best.best_epoch, fitted.best.best_accuracy
    if run.config.keep != "best":
        epoch = fitted.last_epoch or feeds.total_epochs
        val_accuracy = fitted.last_val_accuracy if fitted.last_val_accuracy is not None else math.nan
    phase = phase_of(built.phases, epoch)
    # tested before unfreezing: the analysis looks at the weights fine-tuning produced, kept before the restore
    finetuned = snapshot(built.backbone) if analyse and phase == "head" and fitted.trained_backbone else None
    if run.config.keep == "best":
        fitted.best.restore(built.model)
    return Selected(epoch, val_accuracy, phase, finetuned)


def predict_test(run: StrategyRun, built, fitted: Fitted, feeds: Feeds, cached_phase: str | None) -> np.ndarray | None:
    """(N, C) class probabilities of the test images under the selected weights; None if stopped meanwhile."""
    data = run.data
    if fitted.head_data is not None and built.phases[-1].name == cached_phase and built.recipe.test_model is None:
        # The tested weights sit behind a frozen backbone: the whole model as extractor then head (the same
        # layers), reusing the extractor's compiled predict.
        probabilities = fitted.head_data.predict(data.x_test, feeds.batch_size, callbacks=[fitted.stopper])
    else:
        tester = built.recipe.test_model(built.model) if built.recipe.test_model is not None else built.model
        probabilities = predict_rows(tester, data.x_test, feeds.batch_size, callbacks=[fitted.stopper])
    if run.stop_event.is_set() or len(probabilities) != len(data.y_test):
        return None
    return probabilities


def report_test(run: StrategyRun, built, selected: Selected, probabilities: np.ndarray) -> None:
    """Emit the test result (`Evaluated`), what it was measured with, and the stored predictions."""
    name, data, sink = run.name, run.data, run.sink
    metrics = test_metrics(probabilities, data.y_test, len(data.class_names))
    sink(Evaluated(strategy=name, best_epoch=selected.epoch, best_val_accuracy=selected.val_accuracy,
                   class_names=list(data.class_names), evaluation=built.recipe.evaluation,
                   tested_phase=selected.phase, **metrics))
    if note := before_unfreezing_note(name, selected.epoch, selected.phase):
        sink(LogMessage(level="warning", message=f"{name}: {note}"))
    if built.recipe.evaluation:  # a trick that changes evaluation is said on screen, not only in the record
        sink(LogMessage(level="warning", message=f"{name}: test accuracy measured with {built.recipe.evaluation}"))
    from cifar_tui.engine.analysis.predictions import prediction_arrays

    arrays = prediction_arrays(probabilities, data.y_test, data.x_test)
    sink(TestPredictions(strategy=name, count=len(data.y_test), stored_images=len(arrays["image_index"]),
                         arrays=arrays))
