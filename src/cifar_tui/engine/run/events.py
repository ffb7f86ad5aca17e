"""The event stream of a run: typed dataclasses, one JSON line each.

The engine emits these to a sink (any callable taking an event). The run store writes them to
`events.jsonl`; the app and the CLI's progress display draw them. Everything a screen shows can be rebuilt
from the stream, which is how past runs are browsed and live runs are attached to.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

Sink = Callable[["Event"], None]


@dataclass
class Event:
    type: ClassVar[str] = "event"
    time: float = field(default_factory=time.time, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **_finite(dataclasses.asdict(self))}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


@dataclass
class RunStarted(Event):
    type: ClassVar[str] = "run_started"
    run_id: str
    config: dict[str, Any]
    environment: dict[str, Any]  # versions, devices, host
    dataset: dict[str, Any]  # name, source, sizes, class names, substitution note
    weights: dict[str, Any]  # requested, used, note
    notices: list[str] = field(default_factory=list)  # fallbacks and deliberate mistakes, in words


@dataclass
class RunResumed(Event):
    """A stopped run continues in the same folder and log (`cifar-tui resume`)."""

    type: ClassVar[str] = "run_resumed"
    run_id: str
    environment: dict[str, Any]  # of the resuming process, which may be another machine
    from_epochs: dict[str, int]  # strategy -> epochs already done (its checkpoint); 0: starts over
    skipped: list[str] = field(default_factory=list)  # strategies finished before, not rerun
    notices: list[str] = field(default_factory=list)


@dataclass
class StrategyStarted(Event):
    type: ClassVar[str] = "strategy_started"
    strategy: str
    image_size: int
    epochs: int  # total epochs over all phases
    steps_per_epoch: int
    total_params: int
    weights: str  # what the backbone was initialised from, in words
    # one line, never empty: model, optimiser and schedule, epochs, augmentation, features cached or live (per
    # phase too: PhaseStarted.recipe), TTA (issues #18, #24)
    recipe: str = ""
    epoch_budget: str = ""  # epochs per phase, "+"-joined ("5+5": head, then unfrozen); "" in older logs


@dataclass
class PhaseStarted(Event):
    type: ClassVar[str] = "phase_started"
    strategy: str
    phase: str  # "train" (one-phase strategies), "head" or "finetune"
    first_epoch: int  # 1-based global epoch this phase starts at
    epochs: int
    learning_rate: float
    trainable_params: int
    recipe: str = ""  # one line: what trains, optimiser and schedule, features cached or live, augmentation


@dataclass
class BatchEnd(Event):
    type: ClassVar[str] = "batch_end"
    strategy: str
    phase: str
    epoch: int
    step: int  # 1-based within the epoch
    steps: int
    loss: float
    accuracy: float
    images_per_s: float


@dataclass
class EpochEnd(Event):
    type: ClassVar[str] = "epoch_end"
    strategy: str
    phase: str
    epoch: int  # 1-based, counted across phases
    epochs: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    learning_rate: float
    seconds: float
    images_per_s: float


@dataclass
class Evaluated(Event):
    type: ClassVar[str] = "evaluated"
    strategy: str
    best_epoch: int
    best_val_accuracy: float
    test_accuracy: float
    test_loss: float
    class_names: list[str]
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted
    precision: list[float]
    recall: list[float]
    evaluation: str = ""  # how the test set was seen when not plainly, e.g. test-time augmentation
    # the phase that trained the tested epoch ("train", "head", "finetune"); "" in older logs. finetune tested
    # at a "head" epoch: fine-tuning did not improve validation accuracy (issue #24)
    tested_phase: str = ""


@dataclass
class TestPredictions(Event):
    """Per-image test results of one strategy, emitted right after its `Evaluated`.

    The arrays (see `cifar_tui.engine.analysis.predictions.prediction_arrays`: predicted class and class
    probabilities of every test image, plus the few uint8 test images the galleries can show) travel in
    memory only: the run store writes them to `strategies/<name>/predictions.npz`; the JSON line keeps
    only their sizes, so the log stays small and a replayed log knows the file exists.
    """

    type: ClassVar[str] = "test_predictions"
    strategy: str
    count: int  # test images predicted
    stored_images: int  # of which the pixels were kept for galleries
    arrays: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "time": self.time, "strategy": self.strategy, "count": self.count,
                "stored_images": self.stored_images}


@dataclass
class BackboneChange(Event):
    """What fine-tuning changed, per backbone block, against the backbone before training."""

    type: ClassVar[str] = "backbone_change"
    strategy: str
    blocks: list[str]  # stem, block1..block7, top
    weight_change: list[float]  # ||W - W0|| / ||W0||
    cka: list[float]  # debiased linear CKA (unbiased HSIC) of the block's activations, before vs after
    images: int  # test images the activations were taken on
    reference: str  # what "before" was (ImageNet weights, or random init), in words
    weights: str = ""  # which weights were analysed, in words ("" in older logs: the tested model)
    trained_variables: int = 0  # backbone variables the optimiser trained, the ones weight_change counts


@dataclass
class StrategyFinished(Event):
    type: ClassVar[str] = "strategy_finished"
    strategy: str
    status: str  # "finished" or "cancelled"
    seconds: float
    trainable_params: int
    total_params: int


@dataclass
class StrategyFailed(Event):
    type: ClassVar[str] = "strategy_failed"
    strategy: str
    error: str


@dataclass
class LogMessage(Event):
    type: ClassVar[str] = "log"
    level: str  # "info", "warning", "error"
    message: str


@dataclass
class RunFinished(Event):
    type: ClassVar[str] = "run_finished"
    status: str  # "finished", "cancelled" (asked by the user), "interrupted" (signal), "failed"
    seconds: float
    error: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (RunStarted, RunResumed, StrategyStarted, PhaseStarted, BatchEnd, EpochEnd, Evaluated, TestPredictions,
                BackboneChange, StrategyFinished, StrategyFailed, LogMessage, RunFinished)
}


class EventFormatError(ValueError):
    """A line that is not a well-formed event."""


def event_from_dict(data: dict[str, Any]) -> Event:
    if not isinstance(data, dict):
        raise EventFormatError("an event must be a JSON object")
    cls = EVENT_TYPES.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise EventFormatError(f"unknown event type {data.get('type')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError as exc:
        raise EventFormatError(f"bad {cls.type} event: {exc}") from None


def event_from_json(line: str) -> Event:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventFormatError(f"not JSON: {exc.msg}") from None
    return event_from_dict(data)


def _finite(value: Any) -> Any:
    """JSON has no NaN/inf: store them as null so every line stays valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def best_effort(display: Sink | None, record: Sink) -> Sink | None:
    """`display` (a terminal's progress) that may fail without stopping the run: the first OSError from it
    (the terminal closed: EIO; the reader of a pipe gone, as in `| head`: EPIPE) drops it for the rest of
    the run, and a warning saying so goes to `record` (the run store). Before this, that error ended the
    training with no `run_finished` recorded: a run left "running" in its summary."""
    if display is None:
        return None
    dropped = False

    def forward(event: Event) -> None:
        nonlocal dropped
        if dropped:
            return
        try:
            display(event)
        except OSError as exc:
            dropped = True
            record(LogMessage(level="warning", message=f"the terminal output failed ({type(exc).__name__}: "
                                                       f"{exc}); the run goes on, recorded, without it"))
            close = getattr(display, "close", None)  # a live display's redraw thread and stdout redirect end
            if close is not None:
                with contextlib.suppress(Exception):
                    close()

    return forward


def tee(*sinks: Sink | None) -> Sink:
    """One sink that forwards each event to several (the store and a display, say)."""
    active = [s for s in sinks if s is not None]

    def forward(event: Event) -> None:
        for sink in active:
            sink(event)

    return forward
