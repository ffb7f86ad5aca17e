"""Train one strategy as the Keras transfer-learning guide reads: build, prepare the data, fit each phase,
select the best validation epoch, test once, analyse. Each step is one function, here or in its module:
`fit_phases` (the phase loop), `selection` (model selection and the one test)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from cifar_tui.engine.analysis.backbone_change import ANALYSIS_IMAGES
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.data.batches import training_steps
from cifar_tui.engine.data.feeder import make_feeder
from cifar_tui.engine.data.splits import PreparedData
from cifar_tui.engine.models.airbench_strategy import resolve as resolve_airbench
from cifar_tui.engine.models.backbone import WeightsChoice
from cifar_tui.engine.models.phases import estimate_random_init_statistics
from cifar_tui.engine.models.preprocessing import reseed
from cifar_tui.engine.models.scratch import build_scratch
from cifar_tui.engine.models.transfer import build_finetune, build_frozen
from cifar_tui.engine.run.events import LogMessage, Sink, StrategyFinished, StrategyStarted
from cifar_tui.engine.runtime.backend import set_random_seed
from cifar_tui.engine.training.checkpoint_files import Checkpoint, load_checkpoint
from cifar_tui.engine.training.checkpoints import read_arrays
from cifar_tui.engine.training.finetune_outcome import analyse as analyse_finetune
from cifar_tui.engine.training.fit_phases import fit_phases
from cifar_tui.engine.training.recipe_lines import strategy_lines
from cifar_tui.engine.training.selection import predict_test, report_test, select_weights
from cifar_tui.engine.training.strategy_run import (
    Feeds,
    StrategyRun,
    TrainingFailed,
    count_params,
    dtype_policy,
)

BUILDERS = {"scratch": build_scratch, "frozen": build_frozen, "finetune": build_finetune}


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
    run = StrategyRun(name, config, data, sink, stop_event, distribution, checkpoint_dir, resume)
    # A resumed strategy cannot replay the random stream of the epochs it skips; it reseeds with the epoch,
    # so its shuffles and augmentations are as random as, but not identical to, an uninterrupted run's.
    set_random_seed(config.seed + run.done)  # cifar_tui.engine.runtime.backend's: no TensorFlow on the other backends

    built = build(run, weights)
    initialise(run, built, trained)
    analysis = start_analysis(run, built, weights)  # (before, reference) or None
    feeds = prepare_feeds(run, built)
    cached_phase = _cached_phase(name, config, built, features)
    phase_lines = announce(run, built, feeds, cached_phase, weights)

    fitted = fit_phases(run, built, feeds, phase_lines, cached_phase, features, tensorboard_dir)
    trainable = count_params(built.model.trainable_weights)
    if stop_event.is_set():
        return _finish(run, built, started, trainable, "cancelled")

    # Model selection happened on the validation split; now, and only now, the test set.
    selected = select_weights(run, built, fitted, feeds, analysis is not None)
    probabilities = predict_test(run, built, fitted, feeds, cached_phase)
    if probabilities is None:
        return _finish(run, built, started, trainable, "cancelled")
    report_test(run, built, selected, probabilities)
    if trained is not None:
        trained[name] = built.model.get_weights()

    if analysis is not None and not stop_event.is_set():
        before, reference = analysis
        analyse_finetune(sink, name, built.model, built.backbone, before, reference, fitted.trained_backbone,
                         data.x_test[:ANALYSIS_IMAGES], selected.epoch, selected.phase, selected.finetuned,
                         fitted.last_epoch)
    elif analysis is not None:  # tested and kept; only the extra analysis is missing, and a resume will not redo it
        sink(LogMessage(level="warning", message=f"{name}: the backbone-change analysis was skipped: the run "
                                                 "was stopped after the test"))
    return _finish(run, built, started, trainable, "finished")


def build(run: StrategyRun, weights: WeightsChoice | None):
    """The strategy's model, its recipe and phases (a models `Built`), in the distribution's scope and under
    the run's dtype policy, with the data set's augmentation ("auto" resolved: digits are never mirrored)
    and airbench's epochs and batch (the reference's, the batch capped at the training set)."""
    config = run.config.replace(augment=run.data.augmentation)
    with run.scope(), dtype_policy(run.config):
        effective = resolve_airbench(config, len(run.data.y_train), run.replicas)
        built = BUILDERS[run.name](effective, len(run.data.class_names), weights)
    if run.done:  # the model's augmentation stream is reseeded too (see train_strategy)
        reseed(built.model, run.config.seed + run.done)
    return built


def initialise(run: StrategyRun, built, trained: dict | None) -> None:
    """The starting weights, on a fresh start (a resume restores its checkpoint's instead): finetune from
    frozen's trained model; a random-init backbone's BatchNorm statistics from training batches; a recipe's
    data-dependent init (airbench's whitening)."""
    if run.resume is not None:
        return
    if run.name == "finetune" and run.config.finetune_from == "frozen":
        built.model.set_weights(_frozen_weights(run.config, trained, run.checkpoint_dir))
    elif built.estimate_bn:  # random init: BatchNorm statistics from training batches (AdaBN)
        # Augmented as in training (the model's own front): the head trains on augmented batches, which must
        # meet the statistics.
        with run.scope():
            seen = estimate_random_init_statistics(built.model, built.backbone, run.data.x_train, run.config.seed)
        run.sink(LogMessage(level="info", message=f"{run.name}: BatchNorm statistics of the random-init backbone "
                                                  f"estimated on {seen} training images (AdaBN, no gradient step)"))
    if built.recipe.init_from_data is not None:
        built.recipe.init_from_data(run.data.x_train)


def start_analysis(run: StrategyRun, built, weights: WeightsChoice | None) -> tuple[dict, str] | None:
    """finetune's backbone before any training, and its label, for the fine-tuning analysis (saved now, read
    back, not re-drawn, on a resume); None when the analysis is off or there is no backbone."""
    if not (run.name == "finetune" and run.config.finetune_analysis and built.backbone is not None):
        return None
    from cifar_tui.engine.analysis.backbone_change import start_weights

    return start_weights(built.backbone, run.checkpoint_dir, run.resume is not None, built.weights_label,
                         bool(weights and weights.pretrained))


def prepare_feeds(run: StrategyRun, built) -> Feeds:
    """The training batches (the recipe's own dataset over all epochs, or the shared feeder, reshuffled each
    epoch) and the validation batches, at the global batch size (per replica x replicas)."""
    data, seed = run.data, run.config.seed + run.done
    batch_size = (built.recipe.batch_size or run.config.batch_size) * run.replicas
    total_epochs = sum(p.epochs for p in built.phases)
    if built.recipe.train_dataset is not None:  # a recipe with its own augmentation (one dataset over all epochs)
        train, steps = built.recipe.train_dataset(data.x_train, data.y_train, batch_size, run.config.seed,
                                                  run.done, total_epochs)
    else:
        train = make_feeder(data.x_train, data.y_train, batch_size, training=True, seed=seed)
        steps = training_steps(len(data.y_train), batch_size)  # whole batches (engine/data/feeder.py)
    val = make_feeder(data.x_val, data.y_val, batch_size, training=False)
    return Feeds(train, val, steps, batch_size, total_epochs)


def announce(run: StrategyRun, built, feeds: Feeds, cached_phase: str | None,
             weights: WeightsChoice | None) -> dict[str, str]:
    """Emit `StrategyStarted` with the recipe in words and the epoch budget; returns each phase's recipe line."""
    config = run.config
    budget = "+".join(f"{p.epochs_exact or p.epochs:g}" for p in built.phases)
    if run.name == "finetune":  # head epochs first, then unfrozen; from frozen, the head epochs were frozen's
        head = config.frozen_epochs if config.finetune_from == "frozen" else config.head_epochs
        budget = f"{head}+{config.finetune_epochs}"
    recipe_line, phase_lines = strategy_lines(run.name, config.replace(augment=run.data.augmentation), built,
                                              cached_phase, bool(weights and weights.pretrained), run.lr_factor)
    run.sink(StrategyStarted(strategy=run.name, image_size=config.image_size_for(run.name), epochs=feeds.total_epochs,
                             steps_per_epoch=feeds.steps, total_params=built.model.count_params(),
                             weights=built.weights_label, recipe=recipe_line, epoch_budget=budget))
    return phase_lines


def _finish(run: StrategyRun, built, started: float, trainable: int, status: str) -> str:
    run.sink(StrategyFinished(strategy=run.name, status=status, seconds=time.perf_counter() - started,
                              trainable_params=trainable, total_params=built.model.count_params()))
    return status


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


def _cached_phase(name: str, config: ExperimentConfig, built, features) -> str | None:
    """The phase whose head trains on cached features, or None (live): only a frozen backbone in inference
    mode (no stochastic depth) with the shared pipeline has features that depend on the image alone."""
    if (features is None or config.frozen_features != "cached" or built.backbone is None
            or built.recipe.train_dataset is not None or config.stochastic_depth):
        return None
    return {"frozen": "train", "finetune": "head"}.get(name)
