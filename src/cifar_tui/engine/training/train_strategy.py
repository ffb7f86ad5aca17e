"""Train one strategy: build it, fit it phase by phase, restore the best validation epoch, test it once."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from pathlib import Path

import keras
import numpy as np

from cifar_tui.engine.analysis.backbone_change import ANALYSIS_IMAGES, snapshot, trained_variables
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.data.batches import training_steps
from cifar_tui.engine.data.feeder import make_feeder, predict_rows
from cifar_tui.engine.data.splits import PreparedData
from cifar_tui.engine.models.airbench_strategy import resolve as resolve_airbench
from cifar_tui.engine.models.backbone import WeightsChoice
from cifar_tui.engine.models.phases import estimate_random_init_statistics
from cifar_tui.engine.models.preprocessing import reseed
from cifar_tui.engine.models.scratch import build_scratch
from cifar_tui.engine.models.transfer import build_finetune, build_frozen
from cifar_tui.engine.run.events import (
    Evaluated,
    LogMessage,
    PhaseStarted,
    Sink,
    StrategyFinished,
    StrategyStarted,
    TestPredictions,
)
from cifar_tui.engine.run.state import before_unfreezing_note
from cifar_tui.engine.runtime.backend import set_random_seed
from cifar_tui.engine.training.callbacks import BestEpoch, EndInsideLastEpoch, EventEmitter, StopOnRequest
from cifar_tui.engine.training.checkpoint_files import Checkpoint, load_checkpoint
from cifar_tui.engine.training.checkpoints import Checkpointer, read_arrays, restore_optimizer, restore_weights
from cifar_tui.engine.training.evaluate import MaskedAccuracy, test_metrics
from cifar_tui.engine.training.finetune_outcome import analyse as analyse_finetune
from cifar_tui.engine.training.finetune_outcome import phase_of
from cifar_tui.engine.training.precise_bn import PreciseBatchNorm, has_batch_norm
from cifar_tui.engine.training.recipe_lines import strategy_lines
from cifar_tui.engine.training.schedules import WarmupCosine

BUILDERS = {"scratch": build_scratch, "frozen": build_frozen, "finetune": build_finetune}


class TrainingFailed(Exception):
    """A strategy could not be trained (NaN loss, say); the run goes on with the next one."""


def count_params(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def train_strategy(name: str, config: ExperimentConfig, data: PreparedData, weights: WeightsChoice | None,
                   sink: Sink, stop_event: threading.Event, tensorboard_dir: Path | None = None,
                   checkpoint_dir: Path | None = None, resume: Checkpoint | None = None,
                   distribution=None, trained: dict[str, list[np.ndarray]] | None = None,
                   features=None) -> str:
    """Returns "finished" or "cancelled"; raises TrainingFailed on a NaN loss.

    With `checkpoint_dir`, every finished epoch is checkpointed there; with `resume`, training continues
    after that checkpoint's epoch, with its weights, optimizer state and best epoch. With a tf.distribute
    `distribution`, the model is built and compiled in its scope and each replica takes `batch_size`.
    `trained` maps strategy -> the weights it was tested with; a finished strategy adds its own, and
    finetune with `finetune_from="frozen"` starts from frozen's (or, after a resume, its checkpoint's).
    `features` (an `cifar_tui.engine.training.feature_cache.FeatureCache`): with `frozen_features="cached"`, the
    frozen-backbone phase trains the head on cached pooled features (see that module).
    """
    if name == "probe":  # no fit: a logistic regression on extracted features (not checkpointed)
        from cifar_tui.engine.training.probe import train_probe

        return train_probe(config, data, weights, sink, stop_event, features)
    started = time.perf_counter()
    done = resume.epoch if resume else 0
    # A resumed strategy cannot replay the random stream of the epochs it skips; it reseeds with the epoch,
    # so its shuffles and augmentations are as random as, but not identical to, an uninterrupted run's.
    set_random_seed(config.seed + done)  # cifar_tui.engine.runtime.backend's: no TensorFlow on the other backends
    num_classes = len(data.class_names)
    def scope():  # a fresh context each time: a strategy's scope object cannot be entered twice
        return distribution.scope() if distribution is not None else contextlib.nullcontext()

    replicas = distribution.num_replicas_in_sync if distribution is not None else 1
    lr_factor = replicas if config.scale_lr else 1  # linear scaling rule
    with scope(), dtype_policy(config):
        # the data set's augmentation, built into the model ("auto" resolved: digits are never mirrored)
        # airbench: the reference's epochs and batch, the batch capped at the training set
        effective = resolve_airbench(config.replace(augment=data.augmentation), len(data.y_train), replicas)
        built = BUILDERS[name](effective, num_classes, weights)
    model, recipe = built.model, built.recipe
    if done:  # the model's augmentation stream too (see above)
        reseed(model, config.seed + done)
    batch_size = (recipe.batch_size or config.batch_size) * replicas  # the global batch: per replica x N
    size = config.image_size_for(name)
    if name == "finetune" and config.finetune_from == "frozen" and resume is None:
        model.set_weights(_frozen_weights(config, trained, checkpoint_dir))
    elif built.estimate_bn and resume is None:  # random init: BatchNorm statistics from training batches
        # Augmented as in training (the model's own front): the head trains on augmented batches, which must
        # meet the statistics.
        with scope():
            seen = estimate_random_init_statistics(model, built.backbone, data.x_train, config.seed)
        sink(LogMessage(level="info", message=f"{name}: BatchNorm statistics of the random-init backbone "
                                              f"estimated on {seen} training images (AdaBN, no gradient step)"))
    analyse = name == "finetune" and config.finetune_analysis and built.backbone is not None
    if analyse:  # the backbone before any training: saved now, read back (not re-drawn) on a resume
        from cifar_tui.engine.analysis.backbone_change import start_weights

        before, reference = start_weights(built.backbone, checkpoint_dir, resume is not None, built.weights_label,
                                          bool(weights and weights.pretrained))

    if recipe.init_from_data is not None and resume is None:  # data-dependent init (airbench's whitening)
        recipe.init_from_data(data.x_train)
    total_epochs = sum(p.epochs for p in built.phases)
    if recipe.train_dataset is not None:  # a recipe with its own augmentation (one dataset over all epochs)
        train_ds, steps = recipe.train_dataset(data.x_train, data.y_train, batch_size, config.seed, done,
                                               total_epochs)
    else:
        train_ds = make_feeder(data.x_train, data.y_train, batch_size, training=True, seed=config.seed + done)
        steps = training_steps(len(data.y_train), batch_size)  # whole batches (engine/data/feeder.py)
    val_ds = make_feeder(data.x_val, data.y_val, batch_size, training=False)
    budget = "+".join(f"{p.epochs_exact or p.epochs:g}" for p in built.phases)
    if name == "finetune":  # head epochs first, then unfrozen; from frozen, the head epochs were frozen's
        head = config.frozen_epochs if config.finetune_from == "frozen" else config.head_epochs
        budget = f"{head}+{config.finetune_epochs}"
    cached_phase = _cached_phase(name, config, built, features)
    recipe_line, phase_lines = strategy_lines(name, config.replace(augment=data.augmentation), built, cached_phase,
                                              bool(weights and weights.pretrained), lr_factor)
    sink(StrategyStarted(strategy=name, image_size=size, epochs=total_epochs, steps_per_epoch=steps,
                         total_params=model.count_params(), weights=built.weights_label,
                         recipe=recipe_line, epoch_budget=budget))

    head_data = None  # a HeadData (head model, training and validation features), made when that phase starts
    best = BestEpoch(stop_event)
    stopper = StopOnRequest(stop_event)
    extra = [keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir))] if tensorboard_dir is not None else []
    saver = Checkpointer(checkpoint_dir, name, config.seed, best, stop_event, resume) if checkpoint_dir else None
    if resume is not None:
        best.resume_from(read_arrays(checkpoint_dir / resume.best_file) if resume.best_file else None,
                         resume.best_epoch, resume.best_val_accuracy)
        restore_weights(model, checkpoint_dir / resume.weights_file)
    epoch = 0
    trained_backbone: set[str] = set()  # paths of the backbone variables some phase trained
    last_val_accuracy, last_epoch = None, 0  # the weights the model holds after training: "last" keeps them
    for phase in built.phases:
        if stop_event.is_set():
            break
        phase.prepare()  # freeze / unfreeze, then compile: trainable flags take effect at compile time
        if built.backbone is not None:  # what the optimiser trains in this phase (the analysis counts those)
            trained_backbone |= trained_variables(built.backbone)
        if epoch + phase.epochs <= done:  # finished before the interruption
            epoch += phase.epochs
            continue
        fit_model, fit_train, fit_val = model, train_ds, val_ds
        if phase.name == cached_phase:  # the backbone is frozen: fit the head on its cached features
            from cifar_tui.engine.training.feature_cache import cached_head_data

            if head_data is None:  # the head model under the run's policy: compiled with loss scaling
                with scope(), dtype_policy(config):
                    head_data = cached_head_data(model, built.backbone, data, features, config, name, size,
                                                 batch_size, config.seed + done, sink,
                                                 range(max(epoch, done) + 1, epoch + phase.epochs + 1))
            fit_model, fit_train, fit_val = head_data.head, head_data.train, head_data.val
        peak, phase_steps = phase.learning_rate * lr_factor, phase.epochs * steps
        if phase.epochs_exact:  # a fractional last epoch (airbench's 9.9)
            phase_steps = math.ceil(phase.epochs_exact * steps)
        with scope():
            fit_model.compile(
                optimizer=(recipe.optimizer(peak, phase_steps, steps) if recipe.optimizer is not None
                           else keras.optimizers.Adam(learning_rate=phase_learning_rate(config, peak, phase_steps))),
                loss=recipe.loss,
                weighted_metrics=[MaskedAccuracy()],  # padded evaluation batches count real images
                jit_compile=config.jit,
                run_eagerly=config.run_eagerly,
                steps_per_execution=config.steps_per_execution,
            )
        if resume is not None and epoch < done:  # interrupted inside this phase: its optimizer continues
            with scope():
                restore_optimizer(fit_model, checkpoint_dir / resume.optimizer_file)
        sink(PhaseStarted(strategy=name, phase=phase.name, first_epoch=epoch + 1, epochs=phase.epochs,
                          learning_rate=phase.learning_rate * lr_factor,
                          trainable_params=count_params(model.trainable_weights), recipe=phase_lines[phase.name]))
        emitter = EventEmitter(sink, name, phase.name, total_epochs, steps, batch_size,
                               min(len(data.y_train), steps * batch_size), stop_event)  # images an epoch trains
        best.emitter = emitter
        checkpointing = []
        if saver is not None:
            saver.start_phase(phase.name, phase.learning_rate * lr_factor, emitter)
            checkpointing = [saver]
        recipe_callbacks = recipe.callbacks(phase_steps) if recipe.callbacks is not None else []
        if recipe.precise_bn and has_batch_norm(fit_model):  # validation under the current weights' statistics
            recipe_callbacks.append(PreciseBatchNorm(data.x_train, seed=config.seed + done))
        if phase_steps < phase.epochs * steps:  # stop inside the last epoch, before its validation
            last_batches = phase_steps - (phase.epochs - 1) * steps
            recipe_callbacks.append(EndInsideLastEpoch(epoch + phase.epochs - 1, last_batches))
        stopping = None
        if phase.name == "finetune" and config.finetune_patience:
            stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.finetune_patience,
                                                     restore_best_weights=True)
        from cifar_tui.engine.training.feature_cache import ModelView, pin_model

        for callback in (best, *checkpointing):  # they keep whole models, whichever part is fitted
            pin_model(callback, ModelView(model, fit_model))
        history = fit_model.fit(
            fit_train,
            validation_data=fit_val,
            initial_epoch=max(epoch, done),
            epochs=epoch + phase.epochs,
            steps_per_epoch=steps if recipe.train_dataset is not None else None,  # one dataset, all epochs
            # best before the checkpointer (it saves the verdict); stopper last: it sees a sink's stop
            callbacks=[emitter, best, *recipe_callbacks, *checkpointing, *extra, *([stopping] if stopping else []),
                       stopper],
            shuffle=False,  # the feeder shuffles (and reshuffles each epoch) itself
            verbose=0,
        )
        if emitter.nan_at is not None:
            at_epoch, at_step = emitter.nan_at
            raise TrainingFailed(f"loss became NaN at epoch {at_epoch}, step {at_step} of the {phase.name} "
                                 f"phase (learning rate {phase.learning_rate:g}): try a smaller learning rate")
        accuracies = history.history.get("val_accuracy") or [last_val_accuracy]
        last_val_accuracy, last_epoch = accuracies[-1], epoch + phase.epochs
        if stopping is not None and stopping.best_epoch is not None:  # weights of the lowest loss restored
            index = stopping.best_epoch - max(epoch, done)
            if 0 <= index < len(accuracies):
                last_val_accuracy, last_epoch = accuracies[index], stopping.best_epoch + 1
        epoch += phase.epochs

    trainable = count_params(model.trainable_weights)
    if stop_event.is_set():
        sink(StrategyFinished(strategy=name, status="cancelled", seconds=time.perf_counter() - started,
                              trainable_params=trainable, total_params=model.count_params()))
        return "cancelled"

    # Model selection happened on the validation split; now, and only now, the test set.
    tested_epoch, tested_val_accuracy = best.best_epoch, best.best_accuracy
    if config.keep != "best":  # the notebook's way: the weights training ended with (last epoch, or early stopping's)
        tested_epoch = last_epoch or total_epochs
        tested_val_accuracy = last_val_accuracy if last_val_accuracy is not None else math.nan
    tested_phase = phase_of(built.phases, tested_epoch)
    # tested before unfreezing: the analysis looks at the weights fine-tuning produced, kept before the restore
    finetuned = snapshot(built.backbone) if analyse and tested_phase == "head" and trained_backbone else None
    if config.keep == "best":
        best.restore(model)
    if head_data is not None and built.phases[-1].name == cached_phase and recipe.test_model is None:
        # The tested weights sit behind a frozen backbone: the whole model as extractor then head (the same
        # layers), reusing the extractor's compiled predict.
        probabilities = head_data.predict(data.x_test, batch_size, callbacks=[stopper])
    else:
        tester = recipe.test_model(model) if recipe.test_model is not None else model
        probabilities = predict_rows(tester, data.x_test, batch_size, callbacks=[stopper])
    if stop_event.is_set() or len(probabilities) != len(data.y_test):
        sink(StrategyFinished(strategy=name, status="cancelled", seconds=time.perf_counter() - started,
                              trainable_params=trainable, total_params=model.count_params()))
        return "cancelled"
    metrics = test_metrics(probabilities, data.y_test, num_classes)
    sink(Evaluated(strategy=name, best_epoch=tested_epoch, best_val_accuracy=tested_val_accuracy,
                   class_names=list(data.class_names), evaluation=recipe.evaluation, tested_phase=tested_phase,
                   **metrics))
    if note := before_unfreezing_note(name, tested_epoch, tested_phase):
        sink(LogMessage(level="warning", message=f"{name}: {note}"))
    if recipe.evaluation:  # a trick that changes evaluation is said on screen, not only in the record
        sink(LogMessage(level="warning", message=f"{name}: test accuracy measured with {recipe.evaluation}"))
    from cifar_tui.engine.analysis.predictions import prediction_arrays

    arrays = prediction_arrays(probabilities, data.y_test, data.x_test)
    sink(TestPredictions(strategy=name, count=len(data.y_test), stored_images=len(arrays["image_index"]),
                         arrays=arrays))
    if trained is not None:
        trained[name] = model.get_weights()
    if analyse and not stop_event.is_set():
        analyse_finetune(sink, name, model, built.backbone, before, reference, trained_backbone,
                         data.x_test[:ANALYSIS_IMAGES], tested_epoch, tested_phase, finetuned, last_epoch)
    elif analyse:  # tested and kept; only the extra analysis is missing, and a resume will not redo it
        sink(LogMessage(level="warning", message=f"{name}: the backbone-change analysis was skipped: the run "
                                                 "was stopped after the test"))
    sink(StrategyFinished(strategy=name, status="finished", seconds=time.perf_counter() - started,
                          trainable_params=trainable, total_params=model.count_params()))
    return "finished"


@contextlib.contextmanager
def dtype_policy(config: ExperimentConfig):
    """The run's Keras dtype policy while models are built, float32 again after (later models, other runs).
    Mixed precision: layers built under it compute in float16 and a model built under it wraps its
    optimizer in a LossScaleOptimizer at compile time; every classifier output stays float32."""
    keras.mixed_precision.set_dtype_policy("mixed_float16" if config.precision == "mixed" else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def _frozen_weights(config: ExperimentConfig, trained: dict | None, checkpoint_dir: Path | None) -> list:
    """The weights the frozen strategy was tested with: from this process, or from its checkpoint."""
    if trained and "frozen" in trained:
        return trained["frozen"]
    saved = load_checkpoint(checkpoint_dir.parent / "frozen") if checkpoint_dir is not None else None
    if saved is not None:
        file = saved.best_file if config.keep == "best" and saved.best_file else saved.weights_file
        return read_arrays(checkpoint_dir.parent / "frozen" / file)
    raise TrainingFailed("finetune continues the frozen strategy's trained model (finetune_from = frozen), "
                         "but frozen did not finish in this run")


def phase_learning_rate(config: ExperimentConfig, peak: float, steps: int):
    """The transfer strategies' Adam rate: constant (the Keras guide's recipe) unless a schedule is chosen."""
    return WarmupCosine(peak, steps) if config.transfer_schedule == "cosine" else peak


def _cached_phase(name: str, config: ExperimentConfig, built, features) -> str | None:
    """The phase whose head trains on cached features, or None (live): only a frozen backbone in inference
    mode (no stochastic depth) with the shared pipeline has features that depend on the image alone."""
    if (features is None or config.frozen_features != "cached" or built.backbone is None
            or built.recipe.train_dataset is not None or config.stochastic_depth):
        return None
    return {"frozen": "train", "finetune": "head"}.get(name)
