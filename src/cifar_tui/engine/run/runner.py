"""`run_experiment`: the whole study, strategy after strategy, as a stream of events.

Called in the calling thread by the CLI, and from a thread worker by the app, which passes the worker's
cancel event as `stop_event`. Keras (and TensorFlow, on its backend) is imported here, lazily, once the
config's backend is set (engine/runtime/backend.py), so that `import cifar_tui.engine`
stays cheap.
"""

from __future__ import annotations

import copy
import importlib.util
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import (
    CheckpointDamaged,
    ConfigError,
    DataError,
    InputsMissing,
    OutOfMemory,
    StoreError,
    UserError,
    WeightsError,
)
from cifar_tui.engine.run.events import LogMessage, RunFinished, RunResumed, RunStarted, Sink, StrategyFailed
from cifar_tui.engine.run.failures import describe_failure, is_out_of_memory
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.runtime.memory import release_models

if TYPE_CHECKING:
    from cifar_tui.engine.run.resume import ResumePlan


def run_experiment(config: ExperimentConfig, sink: Sink, stop_event: threading.Event | None = None,
                   run_id: str = "", tensorboard_dir: Path | None = None, checkpoint_root: Path | None = None,
                   resume: ResumePlan | None = None, feature_cache_dir: Path | None = None) -> dict:
    """Run the configured strategies and return the run's summary (see `RunState.summary`).

    Raises `UserError` (after emitting a failed `RunFinished`) when the config, data or weights are
    unusable; a strategy that fails (NaN loss, unexpected error) is recorded and the next one runs.
    With `checkpoint_root` each strategy checkpoints every epoch into `checkpoint_root/<strategy>`; with
    `resume` (and the same root) a stopped run continues: finished strategies are skipped, stopped ones
    go on from their checkpoint, and the events continue the run's log. Frozen-backbone features are
    cached in `feature_cache_dir` (shared by runs; None: in memory, for this run's strategies only).
    """
    stop_event = stop_event or threading.Event()
    # Our own copy: the recorder folds the same events into the plan's state (one resume, counted once).
    state = copy.deepcopy(resume.state) if resume is not None else RunState()

    def emit(event) -> None:
        state.apply(event)
        sink(event)

    def report(text: str) -> None:  # download progress: the app's log panel, the CLI's stderr
        emit(LogMessage(level="progress", message=text))

    started = time.perf_counter()
    try:
        config.validate()
        from cifar_tui.engine.runtime.backend import activate

        activate(config.backend)  # before anything imports keras: the backend is fixed at its first import
        if config.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise ConfigError("--tensorboard needs the tensorboard package: pip install tensorboard==2.21.0 "
                              "(or `pip install -e .[tensorboard]`)")
        weights = check_inputs(config, report)  # before TensorFlow loads: a wrong file is refused in seconds
        data, environment, strategy = _prepared(config, report)
        if config.domain_distance and resume is None:  # recorded with the data set, in RunStarted
            data.details["imagenet_distance"] = _domain_distance(config, data, weights, emit)
    except UserError as exc:
        if resume is None:  # a resume that cannot start leaves the stopped run as it was, resumable
            emit(RunFinished(status="failed", seconds=time.perf_counter() - started, error=str(exc)))
        raise

    prior = resume.prior_seconds if resume is not None else 0.0
    try:
        failed = _run_strategies(config, data, weights, environment, strategy, emit, stop_event, run_id,
                                 tensorboard_dir, checkpoint_root, resume, feature_cache_dir)
    except (StoreError, CheckpointDamaged) as exc:
        # A write failed mid-run (a full disk) or a checkpoint turned out damaged while loading: the run stops
        # here. Record why, if anything can still be written (the failed save has removed its partial
        # files, which frees what it took), so the run never stays "running"; its last committed
        # checkpoints are intact and `cifar-tui resume` continues from them.
        _record_stop(emit, str(exc), prior + time.perf_counter() - started)
        raise

    # A stop asked for by the user is "cancelled"; one forced from outside (SIGTERM, SSH hang-up) carries
    # a reason and is "interrupted". A stop that came after every strategy had ended stopped nothing: the
    # run is recorded as it ended (a resume would have nothing to continue).
    reason = getattr(stop_event, "reason", "")
    stopped = stop_event.is_set() and not all_strategies_ended(state, config.strategies)
    if stop_event.is_set() and not stopped:
        emit(LogMessage(level="info", message=f"{reason or 'cancel asked'} after every strategy had ended: "
                                              "nothing was stopped"))
    if stopped:
        status, error = ("interrupted", reason) if reason else ("cancelled", "")
    else:
        status, error = ("failed", "a strategy failed") if failed else ("finished", "")
    emit(RunFinished(status=status, seconds=prior + time.perf_counter() - started, error=error))
    return state.summary()


def all_strategies_ended(state: RunState, strategies) -> bool:
    """True when each of `strategies` has finished (tested) or failed in `state`: nothing left to resume."""
    return all(name in state.strategies and state.strategies[name].status in ("finished", "failed")
               for name in strategies)


def _record_stop(emit, reason: str, seconds: float) -> None:
    for event in (LogMessage(level="error", message=reason),
                  RunFinished(status="interrupted", seconds=seconds, error=reason)):
        try:
            emit(event)
        except StoreError:
            pass  # what cannot be written: the listing shows the run interrupted once its writer is gone


def _run_strategies(config, data, weights, environment, strategy, emit, stop_event, run_id, tensorboard_dir,
                    checkpoint_root, resume, feature_cache_dir=None) -> bool:
    """Announce the run (or its resumption), train each strategy in turn; True if one failed."""
    if config.augment == "auto":  # recorded as what ran: the data set's own augmentation
        config = config.replace(augment=data.augmentation)
    notices = data.notices + ([weights.notice] if weights and weights.notice else [])
    if environment["precision"] == "mixed" and environment["device"] == "CPU":
        notices.append("MIXED PRECISION ON A CPU: float16 is emulated there and slower than float32")
    notices += [f"DELIBERATE MISTAKE: {m}" for m in config.mistakes()]
    if not config.transfer_translate and {"frozen", "finetune"} & set(config.strategies):
        from cifar_tui.engine.models.preprocessing import WITHOUT_TRANSLATION

        notices.append(f"TRANSLATION DROPPED FOR TRANSFER: frozen and finetune train with augmentation "
                       f"{WITHOUT_TRANSLATION[config.augment]} (transfer translate off), scratch with {config.augment}")
    if resume is None:
        emit(RunStarted(run_id=run_id, config=config.to_dict(), environment=environment,
                        dataset=data.describe(), weights=weights.describe() if weights else {"label": "n/a"},
                        notices=notices))
        for notice in notices:
            emit(LogMessage(level="warning", message=notice))
    else:
        emit(RunResumed(run_id=run_id, environment=environment, from_epochs=resume.from_epochs(),
                        skipped=resume.skipped, notices=notices))
        done = ", ".join(f"{n} after epoch {e}" if e else f"{n} from the start"
                         for n, e in resume.from_epochs().items())
        emit(LogMessage(level="info", message=f"resumed: {done}"))

    from cifar_tui.engine.training.train_strategy import TrainingFailed, train_strategy

    # "auto" decided once, for every strategy (and recorded in the environment)
    resolved = config.replace(precision=environment["precision"], jit=environment.get("jit", bool(config.jit)))
    trained: dict = {}  # strategy -> tested weights (finetune_from = "frozen" continues frozen's model)
    features = None
    if config.frozen_features == "cached" and any(s in ("frozen", "finetune", "probe") for s in config.strategies):
        from cifar_tui.engine.training.feature_cache import FeatureCache

        features = FeatureCache(feature_cache_dir, emit)
    failed = False
    for name in config.strategies:
        if stop_event.is_set():
            break
        if resume is not None and name not in resume.checkpoints:
            continue  # finished before the interruption
        try:
            train_strategy(name, resolved, data, weights, emit, stop_event,
                           tensorboard_dir / name if tensorboard_dir is not None else None,
                           checkpoint_root / name if checkpoint_root is not None else None,
                           resume.checkpoints[name] if resume is not None else None, strategy, trained,
                           features)
        except (StoreError, CheckpointDamaged, KeyboardInterrupt):
            raise
        except TrainingFailed as exc:
            failed = True
            emit(StrategyFailed(strategy=name, error=str(exc)))
        except Exception as exc:  # an unexpected error in one strategy must not lose the others
            failed = True
            why = describe_failure(exc, resolved, name)  # out of memory: the fix, with the values to try
            emit(LogMessage(level="error", message=f"{name} failed: {why}\n{traceback.format_exc(limit=8)}"))
            emit(StrategyFailed(strategy=name, error=why))
        finally:
            release_models()
    return failed


def _domain_distance(config: ExperimentConfig, data, weights, emit) -> dict:
    """The data set's distance from ImageNet (engine/analysis/domain_distance.py); a failure to measure it
    is recorded as not measured, with its reason, and the run goes on."""
    from cifar_tui.engine.analysis.domain_distance import DEFINITION, measure

    try:
        return measure(data.x_sample, config.transfer_image_size, weights,
                       lambda text: emit(LogMessage(level="info", message=text)))
    except UserError:
        raise
    except Exception as exc:  # a measure is not worth a run: say why it is missing
        emit(LogMessage(level="error", message=traceback.format_exc(limit=8)))
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return {"definition": DEFINITION, "value": None, "why": f"not measured: {reason}"}
    finally:
        release_models()


def check_inputs(config: ExperimentConfig, report=lambda _text: None):
    """The checks that need no TensorFlow: the data set's files (`--data-dir`, or Keras' cached archive) and the
    weights file.
    Returns the resolved WeightsChoice (None when no strategy needs a backbone); raises UserError."""
    from cifar_tui.engine.data.catalog import DOWNLOADABLE, load, locate
    from cifar_tui.engine.models.backbone import resolve_weights

    local = True  # the data set needs no download (or may fall back to digits)
    if config.dataset != "cifar10" or config.data_dir or not config.allow_fallback:
        local = locate(config.dataset, config.data_dir) is not None or config.dataset not in DOWNLOADABLE
    try:
        return resolve_weights(config.weights, config.allow_fallback, report) if config.needs_backbone else None
    except WeightsError as weights_error:
        if local:
            raise
        try:  # the run cannot start: is the data set missing too? Both in one message (a reviewer's two dialogs)
            load(config.dataset, config.data_dir, report)
        except DataError as data_error:
            raise InputsMissing(data_error, weights_error) from None
        raise


def _prepared(config: ExperimentConfig, report):
    """`_prepare`, with running out of memory there (a data set too large for this machine) as one line."""
    try:
        return _prepare(config, report)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        raise OutOfMemory(f"out of memory while preparing the data: try a smaller --train-fraction or "
                          f"--train-per-class; {describe_failure(exc).split('; ', 1)[-1]}") from None


def _prepare(config: ExperimentConfig, report):
    """Data and environment, resolved before anything is recorded."""
    import keras

    from cifar_tui.engine.data.splits import prepare_data
    from cifar_tui.engine.runtime.allocator import keep_freed_memory
    from cifar_tui.engine.runtime.environment import describe_environment, resolve_jit
    from cifar_tui.engine.training.distribute import describe, make_strategy

    allocator = keep_freed_memory()  # before the data and the first batches are allocated
    strategy = make_strategy(config.gpus)  # first: splitting a CPU must precede TensorFlow's start
    data = prepare_data(config, report)
    environment = describe_environment(config.precision)
    environment["replicas"] = strategy.num_replicas_in_sync if strategy is not None else 1
    environment["distribution"] = describe(config.gpus) or "single device"
    environment["allocator"] = allocator
    environment["jit"] = resolve_jit(config.jit, keras.backend.backend(), environment["device"] != "CPU",
                                     strategy is not None)
    if "scratch" in config.strategies:  # airbench's epochs and batch as they train (records say what ran)
        from cifar_tui.engine.models.airbench_strategy import resolve as resolve_airbench

        effective = resolve_airbench(config, len(data.y_train), environment["replicas"])
        if effective is not config:
            environment["airbench"] = {"airbench_epochs": effective.airbench_epochs,
                                       "airbench_batch_size": effective.airbench_batch_size}
    return data, environment, strategy
