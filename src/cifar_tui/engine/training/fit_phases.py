"""Fit a strategy phase by phase: freeze or unfreeze, compile, fit with the run's callbacks (events, best
epoch, checkpoints, stop requests), skipping the epochs a resumed run already finished."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import keras

from cifar_tui.engine.analysis.backbone_change import trained_variables
from cifar_tui.engine.models.phases import Phase
from cifar_tui.engine.run.events import PhaseStarted
from cifar_tui.engine.training.callbacks import BestEpoch, EndInsideLastEpoch, EventEmitter, StopOnRequest
from cifar_tui.engine.training.checkpoints import Checkpointer, read_arrays, restore_optimizer, restore_weights
from cifar_tui.engine.training.evaluate import MaskedAccuracy
from cifar_tui.engine.training.precise_bn import PreciseBatchNorm, has_batch_norm
from cifar_tui.engine.training.schedules import WarmupCosine
from cifar_tui.engine.training.strategy_run import (
    Feeds,
    StrategyRun,
    TrainingFailed,
    count_params,
    dtype_policy,
)


@dataclass
class Fitted:
    """Fitting's state across phases, and what it leaves: the callbacks that last over all phases (selection
    and testing reuse `best` and `stopper`), the cached-feature head (or None), the backbone variables some
    phase trained (the analysis counts those), and the weights the model holds after training ("last" keeps
    them): their validation accuracy and epoch."""

    best: BestEpoch
    stopper: StopOnRequest
    saver: Checkpointer | None = None
    tensorboard: list = field(default_factory=list)  # a TensorBoard callback, or none
    head_data: object = None  # a feature_cache.HeadData, made when the cached phase starts
    trained_backbone: set[str] = field(default_factory=set)
    last_val_accuracy: float | None = None
    last_epoch: int = 0


def fit_phases(run: StrategyRun, built, feeds: Feeds, phase_lines: dict[str, str], cached_phase: str | None,
               features, tensorboard_dir: Path | None) -> Fitted:
    """Fit every phase of `built` (a models `Built`) in order; stops early when the stop event is set.
    Raises TrainingFailed on a NaN loss."""
    fitted = Fitted(BestEpoch(run.stop_event), StopOnRequest(run.stop_event))
    if tensorboard_dir is not None:
        fitted.tensorboard = [keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir))]
    if run.checkpoint_dir:
        fitted.saver = Checkpointer(run.checkpoint_dir, run.name, run.config.seed, fitted.best, run.stop_event,
                                    run.resume)
    if run.resume is not None:
        resume = run.resume
        fitted.best.resume_from(read_arrays(run.checkpoint_dir / resume.best_file) if resume.best_file else None,
                                resume.best_epoch, resume.best_val_accuracy)
        restore_weights(built.model, run.checkpoint_dir / resume.weights_file)
    epoch = 0  # epochs of the phases before this one
    for phase in built.phases:
        if run.stop_event.is_set():
            break
        phase.prepare()  # freeze / unfreeze, then compile: trainable flags take effect at compile time
        if built.backbone is not None:  # what the optimiser trains in this phase
            fitted.trained_backbone |= trained_variables(built.backbone)
        if epoch + phase.epochs > run.done:  # not finished before the interruption
            _fit_phase(run, built, feeds, phase, epoch, phase_lines[phase.name], cached_phase, features, fitted)
        epoch += phase.epochs
    return fitted


def _fit_phase(run: StrategyRun, built, feeds: Feeds, phase: Phase, epoch: int, phase_line: str,
               cached_phase: str | None, features, fitted: Fitted) -> None:
    """Compile and fit one phase from epoch `epoch` + 1 (or from where a resume left it)."""
    fit_model, fit_train, fit_val = built.model, feeds.train, feeds.val
    if phase.name == cached_phase:  # the backbone is frozen: fit the head on its cached features
        fit_model, fit_train, fit_val = _cached_inputs(run, built, feeds, phase, epoch, features, fitted)
    phase_steps = phase.epochs * feeds.steps
    if phase.epochs_exact:  # a fractional last epoch (airbench's 9.9)
        phase_steps = math.ceil(phase.epochs_exact * feeds.steps)
    learning_rate = phase.learning_rate * run.lr_factor
    _compile(run, built.recipe, fit_model, learning_rate, phase_steps, feeds.steps)
    if run.resume is not None and epoch < run.done:  # interrupted inside this phase: its optimizer continues
        with run.scope():
            restore_optimizer(fit_model, run.checkpoint_dir / run.resume.optimizer_file)
    run.sink(PhaseStarted(strategy=run.name, phase=phase.name, first_epoch=epoch + 1, epochs=phase.epochs,
                          learning_rate=learning_rate, trainable_params=count_params(built.model.trainable_weights),
                          recipe=phase_line))
    emitter = EventEmitter(run.sink, run.name, phase.name, feeds.total_epochs, feeds.steps, feeds.batch_size,
                           min(len(run.data.y_train), feeds.steps * feeds.batch_size),  # images an epoch trains
                           run.stop_event)
    fitted.best.emitter = emitter
    checkpointing = [fitted.saver] if fitted.saver is not None else []
    for saver in checkpointing:
        saver.start_phase(phase.name, learning_rate, emitter)
    recipe_callbacks, stopping = _phase_callbacks(run, built.recipe, fit_model, phase, epoch, phase_steps, feeds)
    from cifar_tui.engine.training.feature_cache import ModelView, pin_model

    for callback in (fitted.best, *checkpointing):  # they keep whole models, whichever part is fitted
        pin_model(callback, ModelView(built.model, fit_model))
    history = fit_model.fit(
        fit_train,
        validation_data=fit_val,
        initial_epoch=max(epoch, run.done),
        epochs=epoch + phase.epochs,
        steps_per_epoch=feeds.steps if built.recipe.train_dataset is not None else None,  # one dataset, all epochs
        # best before the checkpointer (it saves the verdict); stopper last: it sees a sink's stop
        callbacks=[emitter, fitted.best, *recipe_callbacks, *checkpointing, *fitted.tensorboard,
                   *([stopping] if stopping else []), fitted.stopper],
        shuffle=False,  # the feeder shuffles (and reshuffles each epoch) itself
        verbose=0,
    )
    if emitter.nan_at is not None:
        at_epoch, at_step = emitter.nan_at
        raise TrainingFailed(f"loss became NaN at epoch {at_epoch}, step {at_step} of the {phase.name} "
                             f"phase (learning rate {phase.learning_rate:g}): try a smaller learning rate")
    _note_last_weights(fitted, history, stopping, epoch, phase, run.done)


def _cached_inputs(run: StrategyRun, built, feeds: Feeds, phase: Phase, epoch: int, features, fitted: Fitted):
    """(model, training batches, validation batches) of a phase fitted on cached features: the head model,
    made with its features when the phase first runs, under the run's policy (compiled with loss scaling)."""
    from cifar_tui.engine.training.feature_cache import cached_head_data

    if fitted.head_data is None:
        size = run.config.image_size_for(run.name)
        with run.scope(), dtype_policy(run.config):
            fitted.head_data = cached_head_data(built.model, built.backbone, run.data, features, run.config,
                                                run.name, size, feeds.batch_size, run.config.seed + run.done,
                                                run.sink, range(max(epoch, run.done) + 1, epoch + phase.epochs + 1))
    return fitted.head_data.head, fitted.head_data.train, fitted.head_data.val


def _compile(run: StrategyRun, recipe, model, peak: float, phase_steps: int, steps: int) -> None:
    """Compile `model` for one phase: the recipe's optimizer, or Adam at the transfer strategies' rate."""
    config = run.config
    with run.scope():
        model.compile(
            optimizer=(recipe.optimizer(peak, phase_steps, steps) if recipe.optimizer is not None
                       else keras.optimizers.Adam(learning_rate=phase_learning_rate(config, peak, phase_steps))),
            loss=recipe.loss,
            weighted_metrics=[MaskedAccuracy()],  # padded evaluation batches count real images
            jit_compile=config.jit,
            run_eagerly=config.run_eagerly,
            steps_per_execution=config.steps_per_execution,
        )


def phase_learning_rate(config, peak: float, steps: int):
    """The transfer strategies' Adam rate: constant (the Keras guide's recipe) unless a schedule is chosen."""
    return WarmupCosine(peak, steps) if config.transfer_schedule == "cosine" else peak


def _phase_callbacks(run: StrategyRun, recipe, fit_model, phase: Phase, epoch: int, phase_steps: int,
                     feeds: Feeds) -> tuple[list, keras.callbacks.EarlyStopping | None]:
    """The recipe's callbacks for one phase, and fine-tuning's early stopping (or None)."""
    callbacks = recipe.callbacks(phase_steps) if recipe.callbacks is not None else []
    if recipe.precise_bn and has_batch_norm(fit_model):  # validation under the current weights' statistics
        callbacks.append(PreciseBatchNorm(run.data.x_train, seed=run.config.seed + run.done))
    if phase_steps < phase.epochs * feeds.steps:  # stop inside the last epoch, before its validation
        last_batches = phase_steps - (phase.epochs - 1) * feeds.steps
        callbacks.append(EndInsideLastEpoch(epoch + phase.epochs - 1, last_batches))
    stopping = None
    if phase.name == "finetune" and run.config.finetune_patience:
        stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=run.config.finetune_patience,
                                                 restore_best_weights=True)
    return callbacks, stopping


def _note_last_weights(fitted: Fitted, history, stopping, epoch: int, phase: Phase, done: int) -> None:
    """Record the validation accuracy and epoch of the weights the model holds after this phase."""
    accuracies = history.history.get("val_accuracy") or [fitted.last_val_accuracy]
    fitted.last_val_accuracy, fitted.last_epoch = accuracies[-1], epoch + phase.epochs
    if stopping is not None and stopping.best_epoch is not None:  # weights of the lowest loss restored
        index = stopping.best_epoch - max(epoch, done)
        if 0 <= index < len(accuracies):
            fitted.last_val_accuracy, fitted.last_epoch = accuracies[index], stopping.best_epoch + 1
