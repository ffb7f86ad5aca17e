"""Keras callbacks that turn `fit` into events, honour the stop request, and remember the best epoch."""

from __future__ import annotations

import math
import threading
import time

import keras
import numpy as np

from cifar_tui.engine.run.events import BatchEnd, EpochEnd, Sink


class StopOnRequest(keras.callbacks.Callback):
    """Stops training, validation and prediction at the next batch once `stop_event` is set."""

    def __init__(self, stop_event: threading.Event):
        super().__init__()
        self.stop_event = stop_event

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_event.is_set():
            self.model.stop_training = True

    def on_test_batch_end(self, batch, logs=None):
        if self.stop_event.is_set():
            self.model.stop_training = True
            self.model.stop_evaluating = True

    def on_predict_batch_end(self, batch, logs=None):
        if self.stop_event.is_set():
            self.model.stop_predicting = True


class EventEmitter(keras.callbacks.Callback):
    """Emits a `BatchEnd` per training batch and an `EpochEnd` per epoch; detects a NaN loss."""

    def __init__(self, sink: Sink, strategy: str, phase: str, total_epochs: int, steps: int, batch_size: int,
                 n_train: int, stop_event: threading.Event):
        super().__init__()
        self.stop_event = stop_event
        self.sink, self.strategy, self.phase = sink, strategy, phase
        self.total_epochs, self.steps, self.batch_size, self.n_train = total_epochs, steps, batch_size, n_train
        self.nan_at: tuple[int, int] | None = None  # (epoch, step) of the first non-finite loss
        self.completed_epoch = 0  # the last epoch recorded as whole (an EpochEnd was emitted for it)
        self._epoch = 0
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = float(logs.get("loss", math.nan))
        # With steps_per_execution > 1 Keras reports a group's last step, which can run past the epoch's end.
        step = min(batch + 1, self.steps)
        if not math.isfinite(loss) and self.nan_at is None:
            self.nan_at = (self._epoch, step)
            self.model.stop_training = True
        elapsed = time.perf_counter() - self._epoch_start
        seen = min(step * self.batch_size, self.n_train)
        self.sink(BatchEnd(
            strategy=self.strategy, phase=self.phase, epoch=self._epoch, step=step, steps=self.steps,
            loss=loss, accuracy=float(logs.get("accuracy", math.nan)),
            images_per_s=seen / elapsed if elapsed > 0 else 0.0,
        ))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.perf_counter() - self._epoch_start
        if self.nan_at is not None or self.stop_event.is_set():
            return  # the epoch was cut short (NaN, or a stop request): it is not an epoch, record nothing
        self.completed_epoch = epoch + 1
        self.sink(EpochEnd(
            strategy=self.strategy, phase=self.phase, epoch=epoch + 1, epochs=self.total_epochs,
            loss=float(logs.get("loss", math.nan)), accuracy=float(logs.get("accuracy", math.nan)),
            val_loss=float(logs.get("val_loss", math.nan)), val_accuracy=float(logs.get("val_accuracy", math.nan)),
            learning_rate=current_lr(self.model), seconds=seconds,
            images_per_s=self.n_train / seconds if seconds > 0 else 0.0,
        ))


class EndInsideLastEpoch(keras.callbacks.Callback):
    """Ends `fit` after `batches` batches of epoch `last_epoch` (0-based, as Keras counts): a fractional last
    epoch (airbench's 9.9). Keras still validates that epoch and calls every `on_epoch_end`."""

    def __init__(self, last_epoch: int, batches: int):
        super().__init__()
        self.last_epoch, self.batches = last_epoch, batches
        self._epoch = -1

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch == self.last_epoch and batch + 1 >= self.batches:
            self.model.stop_training = True


class BestEpoch(keras.callbacks.Callback):
    """Keeps a copy of the weights of the epoch with the best validation accuracy (never test)."""

    def __init__(self, stop_event: threading.Event):
        super().__init__()
        self.stop_event = stop_event
        self.best_accuracy = -math.inf
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None
        self.emitter: EventEmitter | None = None  # the phase's emitter: it knows whether an epoch was whole

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("val_accuracy")
        whole = self.emitter.completed_epoch == epoch + 1 if self.emitter else not self.stop_event.is_set()
        if not whole:
            return  # a cut-short epoch is no candidate (a stop asked after its end does not cut it)
        if accuracy is not None and math.isfinite(float(accuracy)) and float(accuracy) > self.best_accuracy:
            self.best_accuracy = float(accuracy)
            self.best_epoch = epoch + 1
            self.best_weights = [np.array(w) for w in self.model.get_weights()]

    def resume_from(self, best_weights: list[np.ndarray] | None, best_epoch: int, best_accuracy: float) -> None:
        """Continue after a checkpoint: its best epoch, accuracy and weights."""
        self.best_epoch = best_epoch
        self.best_accuracy = best_accuracy if best_epoch else -math.inf
        self.best_weights = best_weights

    def restore(self, model) -> None:
        if self.best_weights is not None:
            model.set_weights(self.best_weights)


def current_lr(model) -> float:
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except Exception:  # an optimizer without a plain learning rate
        return math.nan
