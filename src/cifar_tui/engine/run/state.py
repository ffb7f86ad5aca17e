"""The state of a run, folded from its event stream.

One fold serves everyone: the runner's returned summary, the store's `summary.json`, the CLI's tables,
the app's Live panels and the history browser all read a `RunState`, so they cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cifar_tui.engine.run.events as ev
from cifar_tui.engine.config.effective_config import effective_config


def before_unfreezing_note(strategy: str, tested_epoch: int, tested_phase: str) -> str:
    """One sentence when `finetune`'s tested epoch was trained before its backbone was unfrozen; "" otherwise."""
    if strategy != "finetune" or tested_phase != "head":
        return ""
    return (f"best epoch {tested_epoch} was before unfreezing: fine-tuning did not improve validation accuracy "
            "(the tested model is the head-only model)")


@dataclass
class StrategyState:
    name: str
    status: str = "pending"  # pending, running, finished, cancelled, failed, not started (NOT_STARTED)
    phase: str = ""
    image_size: int = 0
    epoch: int = 0  # last finished epoch (1-based)
    epochs: int = 0
    step: int = 0
    resumed_at: int = 0  # a resumed strategy's next epoch (1-based) until its first batch; 0 otherwise
    earlier_seconds: float = 0.0  # training time of the epochs a resumed strategy kept from earlier attempts
    kept_epochs: int = 0  # epochs a resumed strategy kept from earlier attempts (not this attempt's figures)
    steps: int = 0
    batch_loss: float | None = None
    batch_accuracy: float | None = None
    images_per_s: float | None = None
    weights: str = ""
    epoch_budget: str = ""  # epochs per phase ("5+5"), as the strategy started
    recipe: str = ""  # one line: model, optimiser and schedule, epochs, augmentation, TTA (issue #18)
    evaluation: str = ""  # how the test set was seen when not plainly (test-time augmentation)
    tested_phase: str = ""  # the phase that trained the tested epoch (Evaluated; older logs: from the history)
    trainable_params: int = 0
    total_params: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # one dict per EpochEnd
    phase_starts: list[tuple[str, int]] = field(default_factory=list)  # (phase, first epoch)
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    confusion_matrix: list[list[int]] | None = None
    precision: list[float] | None = None
    recall: list[float] | None = None
    seconds: float | None = None
    error: str = ""
    backbone_change: dict[str, Any] | None = None  # blocks, weight_change, cka, images, reference
    started_at: float | None = None
    predictions: int = 0  # test images with per-image predictions on file (0: none, e.g. an older run)

    def summary(self) -> dict[str, Any]:
        keys = ("status", "image_size", "epoch", "epochs", "epoch_budget", "recipe", "evaluation", "weights",
                "trainable_params",
                "total_params",
                "best_epoch", "best_val_accuracy", "test_accuracy", "test_loss", "seconds", "error")
        out = {k: getattr(self, k) for k in keys}
        out["images_per_s"] = self.train_images_per_s()
        if (best := self.best_so_far()) is not None:
            out["best_of_finished_epochs"] = {"epoch": best[0], "val_accuracy": best[1]}
        if self.backbone_change:
            out["backbone_change"] = self.backbone_change
        if note := self.note():
            out["note"] = note
        return out

    def note(self) -> str:
        """What the result means beyond its numbers: finetune tested before unfreezing (issue #24); or ""."""
        if self.best_epoch is None:
            return ""
        phase = self.tested_phase or next((h.get("phase", "") for h in self.history
                                           if h["epoch"] == self.best_epoch), "")
        return before_unfreezing_note(self.name, self.best_epoch, phase)

    def best_of_finished_epochs(self) -> tuple[int, float] | None:
        """For a cancelled strategy (stopped before its test, so no `Evaluated`): the finished epoch with the
        highest validation accuracy, as (1-based epoch, accuracy in [0, 1]); None for any other status or
        without a validated epoch. Shown marked as such, never as a test result: it was never tested."""
        return self.best_so_far() if self.status == "cancelled" else None

    def best_so_far(self) -> tuple[int, float] | None:
        """`best_of_finished_epochs`, also for a strategy still training (or waiting to resume): its best
        validated epoch so far, (1-based epoch, accuracy in [0, 1]); None once tested, failed or without a
        validated epoch. Like a cancelled strategy's, shown in brackets: not a result yet."""
        if self.status not in ("cancelled", "running", "pending") or self.best_epoch is not None:
            return None
        validated = [(h["val_accuracy"], -h["epoch"]) for h in self.history
                     if h.get("val_accuracy") is not None and math.isfinite(h["val_accuracy"])]
        if not validated:
            return None
        accuracy, epoch = max(validated)  # the earliest epoch among equals, as the best-epoch callback keeps
        return -epoch, accuracy

    def train_images_per_s(self) -> float | None:
        """Training images/s over the finished epochs, weighted by each epoch's seconds (images trained /
        seconds spent; else the last batch's rate). A plain mean of the epochs' rates let finetune's fast
        head epochs on cached features (thousands of images/s) stand for its slow unfrozen ones. While a
        resumed strategy trains, only this attempt's: the epochs kept from an earlier one ran at another time."""
        since = self.kept_epochs if self.status in ("running", "pending") else 0
        epochs = [h for h in self.history if h.get("images_per_s") and h["epoch"] > since]
        if not epochs:
            return self.images_per_s
        timed = [h for h in epochs if h.get("seconds")]
        if len(timed) == len(epochs):
            return sum(h["images_per_s"] * h["seconds"] for h in timed) / sum(h["seconds"] for h in timed)
        return sum(h["images_per_s"] for h in epochs) / len(epochs)


NOT_STARTED = "not started"  # a strategy of a stopped run that never began: `resume` runs it


def status_words(status: str, quiet_s: float | None) -> str:
    """A run's status in words: "running, no heartbeat for 35 s" while its writer holds the run's lock but
    is silent (stopped by Ctrl-Z or `kill -STOP`, or busy); see cifar_tui.engine.store.liveness."""
    return f"running, no heartbeat for {quiet_s:.0f} s" if status == "running" and quiet_s is not None else status


@dataclass
class RunState:
    run_id: str = ""
    status: str = "pending"  # pending, running, finished, cancelled, failed (interrupted: store's verdict)
    config: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    strategies: dict[str, StrategyState] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)  # (level, message)
    started: float | None = None
    last_time: float | None = None
    seconds: float | None = None
    error: str = ""
    current: str = ""  # the strategy in progress
    resumes: int = 0  # how many times the run was resumed
    quiet_s: float | None = None  # a reader's view, never recorded: running, no heartbeat for this long

    @classmethod
    def from_events(cls, stream) -> RunState:
        state = cls()
        for event in stream:
            state.apply(event)
        return state

    @property
    def status_text(self) -> str:
        """The status in words: "running, no heartbeat for 35 s" while its writer is stopped or busy."""
        return status_words(self.status, self.quiet_s)

    def strategy(self, name: str) -> StrategyState:
        if name not in self.strategies:
            self.strategies[name] = StrategyState(name)
        return self.strategies[name]

    def apply(self, e: ev.Event) -> None:
        self.last_time = e.time
        if isinstance(e, ev.RunStarted):
            self.run_id, self.status, self.started = e.run_id, "running", e.time
            self.config, self.environment, self.dataset, self.weights = e.config, e.environment, e.dataset, e.weights
            self.notices = list(e.notices)
            self.strategies = {n: s for n, s in self.strategies.items() if n in e.config.get("strategies", [])}
            for name in e.config.get("strategies", []):
                self.strategy(name)
        elif isinstance(e, ev.RunResumed):
            self.status, self.error, self.current, self.seconds = "running", "", "", None
            self.environment = e.environment
            self.resumes += 1
            for name, done in e.from_epochs.items():  # the strategies that run again, from their checkpoint
                s = self.strategy(name)
                s.status, s.error, s.step = "pending", "", 0
                # The attempt before the interruption said nothing about this one: its phase and batch figures
                # go until the resumed strategy's own PhaseStarted and first batch arrive.
                s.resumed_at, s.phase = (done + 1 if done else 0), ""  # 0: starts over, nothing to resume
                # the epochs kept from earlier attempts: their training time counts in the strategy's own
                s.earlier_seconds = sum(h.get("seconds") or 0.0 for h in s.history if h["epoch"] <= done)
                s.kept_epochs = done
                # the stopped attempt's time: the strategy's own is set again when this attempt ends
                s.batch_loss = s.batch_accuracy = s.images_per_s = s.seconds = None
                s.history = [h for h in s.history if h["epoch"] <= done]
                s.phase_starts = [(p, first) for p, first in s.phase_starts if first <= max(done, 1)]
                s.epoch = s.history[-1]["epoch"] if s.history else 0
                if done == 0:
                    s.best_epoch = s.best_val_accuracy = s.test_accuracy = s.test_loss = None
                    s.confusion_matrix = s.precision = s.recall = None
        elif isinstance(e, ev.StrategyStarted):
            s = self.strategy(e.strategy)
            s.status, s.image_size, s.epochs, s.steps = "running", e.image_size, e.epochs, e.steps_per_epoch
            s.total_params, s.weights, s.started_at = e.total_params, e.weights, e.time
            s.epoch_budget, s.recipe = e.epoch_budget, e.recipe
            self.current = e.strategy
        elif isinstance(e, ev.PhaseStarted):
            s = self.strategy(e.strategy)
            s.phase, s.trainable_params = e.phase, e.trainable_params
            # the previous phase's batch figures (its img/s, hence an ETA) say nothing about this one
            s.batch_loss = s.batch_accuracy = s.images_per_s = None
            if (e.phase, e.first_epoch) not in s.phase_starts:  # a resumed phase starts again
                s.phase_starts.append((e.phase, e.first_epoch))
        elif isinstance(e, ev.BatchEnd):
            s = self.strategy(e.strategy)
            s.step, s.steps, s.phase, s.resumed_at = e.step, e.steps, e.phase, 0
            s.batch_loss, s.batch_accuracy, s.images_per_s = e.loss, e.accuracy, e.images_per_s
        elif isinstance(e, ev.EpochEnd):
            s = self.strategy(e.strategy)
            s.epoch, s.epochs, s.step, s.resumed_at = e.epoch, e.epochs, 0, 0
            # An epoch logged before a crash but not checkpointed is trained again after a resume: the
            # later record replaces the earlier one, so a history never holds an epoch twice.
            s.history = [h for h in s.history if h["epoch"] < e.epoch]
            s.history.append(e.to_dict())
        elif isinstance(e, ev.Evaluated):
            s = self.strategy(e.strategy)
            s.best_epoch, s.best_val_accuracy = e.best_epoch, e.best_val_accuracy
            s.test_accuracy, s.test_loss, s.evaluation = e.test_accuracy, e.test_loss, e.evaluation
            s.tested_phase = e.tested_phase
            s.confusion_matrix, s.precision, s.recall = e.confusion_matrix, e.precision, e.recall
            if e.class_names and not self.dataset.get("class_names"):
                self.dataset["class_names"] = e.class_names
        elif isinstance(e, ev.TestPredictions):
            self.strategy(e.strategy).predictions = e.count
        elif isinstance(e, ev.BackboneChange):
            self.strategy(e.strategy).backbone_change = {
                "blocks": e.blocks, "weight_change": e.weight_change, "cka": e.cka, "images": e.images,
                "reference": e.reference, "weights": e.weights, "trained_variables": e.trained_variables}
        elif isinstance(e, ev.StrategyFinished):
            s = self.strategy(e.strategy)
            s.status, s.seconds = e.status, e.seconds + s.earlier_seconds
            s.trainable_params, s.total_params = e.trainable_params, e.total_params
        elif isinstance(e, ev.StrategyFailed):
            s = self.strategy(e.strategy)
            s.status, s.error = "failed", e.error
            self.log.append(("error", f"{e.strategy}: {e.error}"))
        elif isinstance(e, ev.LogMessage):
            self.log.append((e.level, e.message))
        elif isinstance(e, ev.RunFinished):
            self.status, self.seconds, self.error = e.status, e.seconds, e.error
            if e.error:
                self.log.append(("error", e.error))
            self._close_strategies(e.status)

    def _close_strategies(self, status: str) -> None:
        """The run ended `status`: a strategy still training stopped with it, one waiting never started (it
        read "pending" in a cancelled run, as if it were about to)."""
        self.current = ""
        for s in self.strategies.values():
            if s.status == "running":
                s.status = "cancelled" if status in ("cancelled", "interrupted") else "failed"
            elif s.status == "pending" and status != "finished":
                s.status = NOT_STARTED

    def writer_gone(self) -> None:
        """The process writing this run died without finishing it (a stale heartbeat, no such pid): the run is
        interrupted where its events stop, not training with an ETA (`watch`, the Runs screen)."""
        if self.status in ("running", "pending"):
            self.status = "interrupted"
            self._close_strategies("interrupted")

    def summary(self) -> dict[str, Any]:
        """`config` is what the run was asked for (config.json: what `resume` replays); `effective_config` what
        trained (engine/config/effective_config.py), `requested_config` the asked values where those differ."""
        recorded = effective_config(self.config, self.dataset, self.weights, self.environment)
        return {
            "run_id": self.run_id,
            "name": self.config.get("name", ""),
            "status": self.status,
            "error": self.error,
            "started": self.started,
            "seconds": self.seconds,
            "dataset": {k: v for k, v in self.dataset.items() if k != "class_names"},
            "weights": self.weights,
            "notices": self.notices,
            "config": self.config,
            "effective_config": recorded.effective,
            "requested_config": recorded.requested,
            "environment": self.environment,
            "resumes": self.resumes,
            "strategies": {name: s.summary() for name, s in self.strategies.items()},
        }
