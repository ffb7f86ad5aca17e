"""`run_study`: every cell of a study as a normal recorded run, resumable.

Running a study again continues it: finished cells are skipped, cancelled or interrupted ones resume from
their last epoch checkpoint (in the same run), failed ones and cells that never ran get a new run. A cell
whose run failed only because a strategy diverged (NaN loss) is a result and is kept: `retry_failed`
gives it a new run (the diverged attempt stays in the cell's history). The
study record is written before each cell starts, so a crash mid-cell still links the run to its cell.
A cell whose configuration cannot run on its data (a subset larger than a class, a fraction that is no
image at all: a ConfigError) is refused: a failed cell with that one-line reason, and the next cell runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.errors import ConfigError, StoreError, UserError
from cifar_tui.engine.run.events import Sink
from cifar_tui.engine.store.ids import new_run_id
from cifar_tui.engine.store.lock import RunLock
from cifar_tui.engine.store.reader import read_listing
from cifar_tui.engine.study.record import StudyRecord, load_record, new_record, save_record, study_dir
from cifar_tui.engine.study.spec import Cell, StudySpec


@dataclass
class CellOutcome:
    cell: Cell
    run_id: str
    action: str  # "skipped" (finished before, or a diverged result kept), "resumed", "new", "refused"
    status: str  # the run's status afterwards
    summary: dict | None = None


def open_record(spec: StudySpec, runs_dir: Path) -> StudyRecord:
    record = load_record(runs_dir, spec.name)
    if record is None:
        return new_record(spec)
    if record.fingerprint != spec.fingerprint():
        raise StoreError(f"study {spec.name} already exists in {runs_dir} with another grid or base config; "
                         f"give this one another name (--name) or delete {study_dir(runs_dir, spec.name)}")
    record.reference = spec.reference  # not part of the grid: a spec may name (or change) it later
    return record


def cell_status(runs_dir: Path, run_id: str) -> str:
    if not run_id or not (Path(runs_dir) / run_id).is_dir():
        return "missing"
    return read_listing(Path(runs_dir) / run_id).status


def only_diverged(runs_dir: Path, run_id: str) -> bool:
    """A failed run whose every strategy either finished or diverged: a result, not an error to retry."""
    from cifar_tui.engine.study.stats import diverged

    strategies = read_listing(Path(runs_dir) / run_id).strategies.values()
    return any(diverged(s) for s in strategies) and all(diverged(s) or s.get("status") == "finished"
                                                        for s in strategies)


def decide(runs_dir: Path, run_id: str, retry_failed: bool = False):
    """What a cell needs: ("skipped", None) when finished (or diverged, unless `retry_failed`), ("resume",
    plan) when stopped and resumable, ("close", plan) when recorded stopped although every strategy had
    finished (a stop after the last one: `settle` records it finished; it is never trained again), ("new",
    None) otherwise. Writes nothing (dry runs use it)."""
    from cifar_tui.engine.run.resume import NothingToResume, plan_resume

    status = cell_status(runs_dir, run_id)
    if status == "finished" or (status == "failed" and not retry_failed and only_diverged(runs_dir, run_id)):
        return "skipped", None
    if status in ("cancelled", "interrupted"):
        try:
            return "resume", plan_resume(runs_dir, run_id)
        except NothingToResume as exc:
            return "close", exc.plan
        except UserError:
            pass  # not resumable after all (say, it never started training)
    return "new", None


def settle(decision: tuple):
    """Carry out a "close" decision (the run is recorded finished, as `cifar-tui resume` would): then the
    cell is "skipped" like any finished one. Other decisions pass through. Raises StoreError."""
    from cifar_tui.engine.run.resume import close_ended_run

    action, plan = decision
    if action == "close":
        close_ended_run(plan)
        return "skipped", None
    return decision


def one_backend(spec: StudySpec, decisions: dict) -> None:
    """ConfigError (one line) when the cells this process would run need two Keras backends: a resumed cell
    continues on the backend it was recorded with, a new one uses the spec's (`--backend`), and one
    process keeps the backend Keras first loaded (issue #14). `--parallel` runs a process per cell."""
    needs: dict[str, str] = {}
    for cell in spec.cells():
        action, plan = decisions[cell.index]
        if action == "skipped":
            continue
        backend = plan.config.backend if action == "resume" else cell.config.backend
        needs.setdefault(backend, "resume" if action == "resume" else "new")
    if len(needs) > 1:
        said = ", ".join(f"{b} for the cells to {'resume' if what == 'resume' else 'start'}"
                         for b, what in needs.items())
        raise ConfigError(f"this study's remaining cells need two Keras backends ({said}) and one process runs "
                          f"one: continue it with --backend {next(iter(needs))}, or with --parallel N "
                          f"(a process per cell)")


def refusal(cell: Cell) -> str:
    """Why the cell's configuration cannot run on its data set ('' when it can): labels only, no TensorFlow."""
    from cifar_tui.engine.data.feasibility import fit_problem

    return fit_problem(cell.config)


def refuse(cell: Cell, record: StudyRecord, runs_dir: Path, reason: str) -> CellOutcome:
    """Record the cell as refused (a failed cell with `reason`) and say so; no run is made."""
    record.cells[cell.index].refused = reason
    save_record(runs_dir, record)
    return CellOutcome(cell, record.cells[cell.index].run_id, "refused", "failed", {"error": reason})


def run_study(spec: StudySpec, runs_dir: Path, stop_event: threading.Event | None = None,
              display: Callable[[Cell], Sink | None] | None = None,
              on_cell: Callable[[CellOutcome], None] | None = None,
              redirect_native_log: bool = True, retry_failed: bool = False) -> list[CellOutcome]:
    """Run (or continue) the study; returns one outcome per cell reached. A cell whose configuration cannot run
    is refused (a failed cell with its reason); other UserErrors (no weights, a full disk) stop the study.
    With `retry_failed`, cells kept as diverged results get a new run too."""
    from cifar_tui.engine.run.session import record_and_run, resume_and_run

    stop_event = stop_event or threading.Event()
    runs_dir = Path(runs_dir)
    record = open_record(spec, runs_dir)
    folder = study_dir(runs_dir, spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    lock = RunLock(folder, what="study").acquire()
    outcomes: list[CellOutcome] = []
    try:
        decisions = {cell.index: settle(decide(runs_dir, record.cells[cell.index].run_id, retry_failed))
                     for cell in spec.cells()}
        one_backend(spec, decisions)
        save_record(runs_dir, record)
        for cell in spec.cells():
            if stop_event.is_set():
                break
            entry = record.cells[cell.index]
            action, plan = decisions[cell.index]
            sink = display(cell) if display is not None else None
            if action == "skipped":
                outcome = CellOutcome(cell, entry.run_id, "skipped", cell_status(runs_dir, entry.run_id))
            elif action == "resume":
                result = resume_and_run(runs_dir, entry.run_id, display=sink, stop_event=stop_event,
                                        redirect_native_log=redirect_native_log, plan=plan)
                outcome = CellOutcome(cell, entry.run_id, "resumed", result.summary["status"], result.summary)
            elif reason := refusal(cell):
                outcome = refuse(cell, record, runs_dir, reason)
            else:
                outcome = _new_run(cell, record, runs_dir, sink, stop_event, redirect_native_log, record_and_run)
            outcomes.append(outcome)
            if on_cell is not None:
                on_cell(outcome)
    finally:
        lock.release()
    return outcomes


def _new_run(cell: Cell, record: StudyRecord, runs_dir: Path, sink, stop_event, redirect_native_log,
             record_and_run) -> CellOutcome:
    entry = record.cells[cell.index]
    run_id = new_run_id(cell.config.name)
    entry.run_ids.append(run_id)
    entry.refused = ""
    save_record(runs_dir, record)  # linked before it starts: a crash mid-cell still finds its run
    try:
        result = record_and_run(cell.config, runs_dir, display=sink, stop_event=stop_event, run_id=run_id,
                                redirect_native_log=redirect_native_log)
    except UserError as exc:
        if not (runs_dir / run_id).exists():  # refused before it started: nothing to link
            entry.run_ids.pop()
            save_record(runs_dir, record)
            if isinstance(exc, ConfigError):  # this cell cannot run (its real data had too few images)
                return refuse(cell, record, runs_dir, str(exc))
        raise
    return CellOutcome(cell, run_id, "new", result.summary["status"], result.summary)
