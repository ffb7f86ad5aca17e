"""Record-and-run: what the CLI and the app both do to start a run.

Creates a run id, records the event stream with a `RunRecorder`, forwards it to a display sink, and
keeps TensorFlow's native log lines in the run's `tensorflow.log` instead of on the terminal.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run.events import Sink, best_effort, tee
from cifar_tui.engine.run.runner import run_experiment
from cifar_tui.engine.runtime.backend import activate
from cifar_tui.engine.runtime.native_stderr import native_stderr_to
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.feature_files import cache_root
from cifar_tui.engine.store.ids import new_run_id
from cifar_tui.engine.store.preflight import check_run_files
from cifar_tui.engine.store.recorder import RunRecorder

if TYPE_CHECKING:
    from cifar_tui.engine.run.resume import ResumePlan


@dataclass
class RunOutcome:
    run_id: str
    path: Path
    summary: dict


def record_and_run(config: ExperimentConfig, runs_dir: Path, display: Sink | None = None,
                   stop_event: threading.Event | None = None, run_id: str | None = None,
                   redirect_native_log: bool = True) -> RunOutcome:
    config.validate()
    activate(config.backend)  # Keras on another backend in this process: refused before a run folder exists
    paths.check_runs_dir(runs_dir)  # before TensorFlow loads (run_experiment checks data and weights then too)
    run_id = run_id or new_run_id(config.name)
    check_run_files(runs_dir, run_id, config)  # a path too long is refused now, not after an epoch's training
    recorder = RunRecorder(runs_dir, run_id)
    sink = tee(recorder, best_effort(display, recorder))  # the record first; a dead terminal never stops it
    tensorboard = recorder.path / "tensorboard" if config.tensorboard else None
    log = None
    if redirect_native_log:  # the run folder does not exist yet: collect in a temp file, move it in after
        fd, name = tempfile.mkstemp(prefix="cifar-tui-", suffix=".log")
        os.close(fd)
        log = Path(name)
    try:
        with native_stderr_to(log) if log is not None else contextlib.nullcontext():
            summary = run_experiment(config, sink, stop_event, run_id=run_id, tensorboard_dir=tensorboard,
                                     checkpoint_root=recorder.path / "checkpoints" if config.checkpoints else None,
                                     feature_cache_dir=cache_root(runs_dir))
    finally:
        recorder.close()
        if log is not None:
            _keep_native_log(log, recorder.path / paths.NATIVE_LOG if recorder.created and not recorder.gone
                             else None)
    return RunOutcome(run_id, recorder.path, summary)


def _keep_native_log(log: Path, destination: Path | None) -> None:
    """Move TensorFlow's log lines into the run folder. On a full disk the move fails: the log then stays in
    the temporary folder (a half-copied one in the run folder is removed); never a traceback over the
    run's own one-line error."""
    if destination is None or not log.stat().st_size:
        log.unlink(missing_ok=True)
        return
    try:
        shutil.move(str(log), destination)
    except OSError:
        with contextlib.suppress(OSError):
            destination.unlink(missing_ok=True)


def resume_and_run(runs_dir: Path, run_ref: str, display: Sink | None = None,
                   stop_event: threading.Event | None = None, redirect_native_log: bool = True,
                   plan: ResumePlan | None = None) -> RunOutcome:
    """Continue a stopped run in its own folder: same id, same log (appended), its checkpoints."""
    from cifar_tui.engine.run.resume import plan_resume

    plan = plan or plan_resume(runs_dir, run_ref)
    activate(plan.config.backend)  # the backend it started on (runs recorded before #14: TensorFlow)
    check_run_files(plan.path.parent, plan.run_id, plan.config)  # before any epoch is trained again
    recorder = RunRecorder.reopen(plan.path.parent, plan.run_id, plan.state)
    sink = tee(recorder, best_effort(display, recorder))  # the record first; a dead terminal never stops it
    config = plan.config
    tensorboard = recorder.path / "tensorboard" if config.tensorboard else None
    log = recorder.path / paths.NATIVE_LOG if redirect_native_log else None
    try:
        with native_stderr_to(log) if log is not None else contextlib.nullcontext():
            summary = run_experiment(config, sink, stop_event, run_id=plan.run_id, tensorboard_dir=tensorboard,
                                     checkpoint_root=recorder.path / "checkpoints", resume=plan,
                                     feature_cache_dir=cache_root(plan.path.parent))
    finally:
        recorder.close()
    return RunOutcome(plan.run_id, recorder.path, summary)
