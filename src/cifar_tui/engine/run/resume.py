"""What `cifar-tui resume RUN` continues: which strategies are done, and where the others stopped.

A run can be resumed when it stopped before finishing: cancelled, interrupted (a signal, a hang-up, a
`kill -9` that left a stale heartbeat) or failed in a strategy. Strategies that finished keep their
results and are not rerun; a stopped strategy continues after its last epoch checkpoint; a failed one
(a NaN loss, say) starts over, since continuing from just before the failure would likely fail again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import StoreError, UserError
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.reader import load_run, writer_alive
from cifar_tui.engine.training.checkpoint_files import Checkpoint, checkpoint_dir, load_checkpoint

RESUMABLE = ("cancelled", "interrupted", "failed")


@dataclass
class ResumePlan:
    run_id: str
    path: Path
    config: ExperimentConfig
    state: RunState  # the run so far, folded from its log
    skipped: list[str] = field(default_factory=list)  # finished strategies
    checkpoints: dict[str, Checkpoint | None] = field(default_factory=dict)  # strategies to run
    prior_seconds: float = 0.0  # time the run already spent

    def from_epochs(self) -> dict[str, int]:
        return {name: (c.epoch if c else 0) for name, c in self.checkpoints.items()}


def plan_resume(runs_dir: Path, run_ref: str) -> ResumePlan:
    """Raises a UserError (one sentence) when the run cannot or need not be resumed."""
    loaded = load_run(runs_dir, run_ref)
    run_dir, state = loaded.listing.path, loaded.state
    if writer_alive(run_dir) and state.status in ("running", "pending"):
        quiet = f", no heartbeat for {loaded.listing.quiet_s:.0f} s" if loaded.listing.quiet_s is not None else ""
        raise StoreError(f"run {run_dir.name} is still running{quiet} (see `cifar-tui watch {run_dir.name}`)")
    if not state.config:
        raise StoreError(f"run {run_dir.name} never started training: nothing to resume")
    if state.status == "finished":
        raise UserError(f"run {run_dir.name} finished; nothing to resume")
    if state.status not in RESUMABLE + ("running", "interrupted"):
        raise UserError(f"run {run_dir.name} is {state.status}; only a stopped run can be resumed")
    try:
        stored = json.loads((run_dir / paths.CONFIG_FILE).read_text(encoding="utf-8"))
        config = ExperimentConfig.from_dict({**recorded_before(stored["config"]), **stored["config"]}).validate()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"run {run_dir.name}: its config.json is unreadable ({exc})") from None
    plan = ResumePlan(run_dir.name, run_dir, config, state)
    for name in config.strategies:
        strategy = state.strategies.get(name)
        if strategy is not None and strategy.status == "finished":
            plan.skipped.append(name)
        elif strategy is not None and strategy.status == "failed":
            plan.checkpoints[name] = None
        else:
            plan.checkpoints[name] = load_checkpoint(checkpoint_dir(run_dir, name))
    if state.seconds is not None:
        plan.prior_seconds = state.seconds
    elif state.started is not None and state.last_time is not None:
        plan.prior_seconds = max(0.0, state.last_time - state.started)
    if not plan.checkpoints:
        raise NothingToResume(f"run {run_dir.name}: every strategy finished; nothing to resume", plan)
    return plan


class NothingToResume(UserError):
    """A run recorded stopped although every strategy had finished: the stop came after the last one (a
    SIGTERM while the run was being closed, a `kill -9` before its last record). `close_ended_run(plan)`
    records it finished."""

    def __init__(self, message: str, plan: ResumePlan) -> None:
        super().__init__(message)
        self.plan = plan


def close_ended_run(plan: ResumePlan) -> str:
    """Record `plan`'s run, whose every strategy finished, as finished (appended to its log, its summary
    rewritten), taking the run's lock like a resume. Returns one line saying so; raises StoreError (the
    run is being written by another process, or the disk refuses)."""
    from cifar_tui.engine.run.events import LogMessage, RunFinished
    from cifar_tui.engine.store.recorder import RunRecorder

    was = plan.state.status
    line = (f"run {plan.run_id}: every strategy had finished before it was recorded {was}; nothing to resume, "
            "recorded it finished")
    recorder = RunRecorder.reopen(plan.path.parent, plan.run_id, plan.state)
    try:
        recorder(LogMessage(level="info", message=line))
        recorder(RunFinished(status="finished", seconds=plan.prior_seconds))
    finally:
        recorder.close()
    return line


def recorded_before(config: dict) -> dict:
    """What a run recorded before a knob existed did, for the knobs whose default has changed since: it
    resumes as it started. Only knobs that change one of its strategies (the others are refused as no-ops)."""
    strategies = set(config.get("strategies", ()))
    out = {"jit": False, "backend": "tensorflow"}  # before issue #14: no XLA unless asked, TensorFlow
    if strategies & {"frozen", "finetune", "probe"}:
        out["frozen_features"] = "live"  # before the feature cache (issue #14), frozen heads trained live
    if "scratch" in strategies and config.get("scratch_model", "cnn") == "cnn":
        out["scratch_schedule"] = "constant"  # before issue #18, the scratch CNN's Adam rate was constant
    out["val_from"] = "subset"  # before the k-shot protocol (issue #15), validation came from the subset
    return out
