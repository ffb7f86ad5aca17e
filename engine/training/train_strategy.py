"""Train one strategy: build it, fit it phase by phase, restore the best validation epoch, test it once."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import keras

from engine.config import ExperimentConfig
from engine.data.pipeline import make_dataset
from engine.data.splits import PreparedData
from engine.events import Evaluated, PhaseStarted, Sink, StrategyFinished, StrategyStarted
from engine.models.backbone import WeightsChoice
from engine.models.scratch import build_scratch
from engine.models.transfer import build_finetune, build_frozen
from engine.training.callbacks import BestEpoch, EventEmitter, StopOnRequest
from engine.training.evaluate import test_metrics

BUILDERS = {"scratch": build_scratch, "frozen": build_frozen, "finetune": build_finetune}


class TrainingFailed(Exception):
    """A strategy could not be trained (NaN loss, say); the run goes on with the next one."""


def count_params(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def train_strategy(name: str, config: ExperimentConfig, data: PreparedData, weights: WeightsChoice | None,
                   sink: Sink, stop_event: threading.Event, tensorboard_dir: Path | None = None) -> str:
    """Returns "finished" or "cancelled"; raises TrainingFailed on a NaN loss."""
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    num_classes = len(data.class_names)
    # Mixed precision: layers built under the policy compute in float16 (Keras wraps the optimizer in a
    # LossScaleOptimizer at compile time); every classifier output stays float32 (dtype="float32").
    keras.mixed_precision.set_dtype_policy("mixed_float16" if config.precision == "mixed" else "float32")
    try:
        built = BUILDERS[name](config, num_classes, weights)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    model = built.model
    size = config.image_size_for(name)

    train_ds = make_dataset(data.x_train, data.y_train, config.batch_size, size, training=True,
                            augment=config.augment, seed=config.seed)
    val_ds = make_dataset(data.x_val, data.y_val, config.batch_size, size, training=False)
    steps = math.ceil(len(data.y_train) / config.batch_size)
    total_epochs = sum(p.epochs for p in built.phases)
    sink(StrategyStarted(strategy=name, image_size=size, epochs=total_epochs, steps_per_epoch=steps,
                         total_params=model.count_params(), weights=built.weights_label))

    best = BestEpoch(stop_event)
    stopper = StopOnRequest(stop_event)
    extra = [keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir))] if tensorboard_dir is not None else []
    epoch = 0
    for phase in built.phases:
        if stop_event.is_set():
            break
        phase.prepare()  # freeze / unfreeze, then compile: trainable flags take effect at compile time
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=phase.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=config.jit,
            run_eagerly=config.run_eagerly,
        )
        sink(PhaseStarted(strategy=name, phase=phase.name, first_epoch=epoch + 1, epochs=phase.epochs,
                          learning_rate=phase.learning_rate,
                          trainable_params=count_params(model.trainable_weights)))
        emitter = EventEmitter(sink, name, phase.name, total_epochs, steps, config.batch_size,
                               len(data.y_train), stop_event)
        model.fit(
            train_ds,
            validation_data=val_ds,
            initial_epoch=epoch,
            epochs=epoch + phase.epochs,
            callbacks=[emitter, best, *extra, stopper],  # stopper last: it sees a stop asked for by a sink
            shuffle=False,  # the tf.data pipeline shuffles (and reshuffles each epoch) itself
            verbose=0,
        )
        if emitter.nan_at is not None:
            at_epoch, at_step = emitter.nan_at
            raise TrainingFailed(f"loss became NaN at epoch {at_epoch}, step {at_step} of the {phase.name} "
                                 f"phase (learning rate {phase.learning_rate:g}): try a smaller learning rate")
        epoch += phase.epochs

    trainable = count_params(model.trainable_weights)
    if stop_event.is_set():
        sink(StrategyFinished(strategy=name, status="cancelled", seconds=time.perf_counter() - started,
                              trainable_params=trainable, total_params=model.count_params()))
        return "cancelled"

    # Model selection happened on the validation split; now, and only now, the test set.
    best.restore(model)
    test_ds = make_dataset(data.x_test, data.y_test, config.batch_size, size, training=False)
    probabilities = model.predict(test_ds, verbose=0, callbacks=[stopper])
    if stop_event.is_set() or len(probabilities) != len(data.y_test):
        sink(StrategyFinished(strategy=name, status="cancelled", seconds=time.perf_counter() - started,
                              trainable_params=trainable, total_params=model.count_params()))
        return "cancelled"
    metrics = test_metrics(probabilities, data.y_test, num_classes)
    sink(Evaluated(strategy=name, best_epoch=best.best_epoch, best_val_accuracy=best.best_accuracy,
                   class_names=list(data.class_names), **metrics))
    sink(StrategyFinished(strategy=name, status="finished", seconds=time.perf_counter() - started,
                          trainable_params=trainable, total_params=model.count_params()))
    return "finished"
