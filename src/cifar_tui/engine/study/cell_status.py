"""Where each cell of a study stands: queued, running, finished, failed or cancelled, and on which job.

Three sources, each trusted for one thing:
- the run folder: a cell whose run finished is finished, whatever Slurm says; once its job has left the
  queue, a failed run is failed and a stopped one (cancelled, interrupted) is cancelled and resumable;
- Slurm's queue (`squeue`): a job still pending or running is queued or running, and is never submitted
  again (Slurm's own accounting, `sacct`, needs a database many small clusters lack, so it is not needed);
- the task's status file `runs/.studies/<name>/cells/cell-NNN.status.json`, written by the task on its
  node: the node it ran on and what it saw when it ended.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.errors import UserError
from cifar_tui.engine.store.atomic import atomic_write_json
from cifar_tui.engine.study.record import StudyRecord, study_dir

# squeue's job states (squeue(1), "JOB STATE CODES"); any other state still in the queue counts as running
QUEUED_STATES = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SPECIAL_EXIT"}
LOCAL_STATES = {"finished": "finished", "failed": "failed", "cancelled": "cancelled", "interrupted": "cancelled",
                "running": "running", "pending": "running", "damaged": "failed"}
SQUEUE_TIMEOUT_S = 60


class SlurmUnavailable(UserError):
    """squeue is missing or failed: nothing may be submitted (it could be a second copy)."""


@dataclass
class CellState:
    index: int
    label: str
    run_id: str
    state: str  # pending (never ran), queued, running, finished, failed, cancelled, unknown (Slurm unreachable)
    job_id: str = ""
    node: str = ""
    log: str = ""


def task_status_path(runs_dir: Path, study: str, index: int) -> Path:
    return study_dir(runs_dir, study) / "cells" / f"cell-{index:03d}.status.json"


def write_task_status(runs_dir: Path, study: str, index: int, **fields) -> None:
    """Called by the task on its node; atomic, so a reader never sees half a file."""
    path = task_status_path(runs_dir, study, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {"updated": time.time(), "host": socket.gethostname(), "pid": os.getpid(), **fields})


def read_task_status(runs_dir: Path, study: str, index: int) -> dict:
    import json

    try:
        return json.loads(task_status_path(runs_dir, study, index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def slurm_queue() -> dict[str, tuple[str, str]]:
    """This user's jobs in Slurm's queue: job id (`<array>_<task>` for array tasks) -> (state, node).

    Raises SlurmUnavailable (one line) when squeue is missing or fails."""
    if shutil.which("squeue") is None:
        raise SlurmUnavailable("squeue not found: is this a Slurm login node? (the Slurm client tools are needed)")
    command = ["squeue", "--noheader", "--array", "--user", getpass.getuser(), "--format", "%i|%T|%N"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=SQUEUE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmUnavailable(f"squeue did not answer: {exc}") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise SlurmUnavailable(f"squeue failed (exit {done.returncode}): {first}")
    out = {}
    for line in done.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            out[parts[0]] = (parts[1], parts[2])
    return out


def run_status(runs_dir: Path, run_id: str) -> str:
    from cifar_tui.engine.study.runner import cell_status  # local: runner imports the session machinery lazily anyway

    return cell_status(runs_dir, run_id)


def cell_states(record: StudyRecord, runs_dir: Path, queue: dict[str, tuple[str, str]] | None) -> list[CellState]:
    """One CellState per cell. `queue` is `slurm_queue()`, or None when Slurm could not be asked (then a
    cluster cell that has not finished is "unknown")."""
    out = []
    for cell in record.cells:
        status = run_status(runs_dir, cell.run_id)
        task = read_task_status(runs_dir, record.name, cell.index)
        mine = bool(cell.job_id) and task.get("job_id") == cell.job_id
        state = CellState(cell.index, cell.label, cell.run_id, "pending", cell.job_id,
                          task.get("node", "") if mine else "", cell.log)
        if not cell.job_id:
            state.state = "failed" if cell.refused and status == "missing" else LOCAL_STATES.get(status, "pending")
        elif status == "finished":
            state.state = "finished"
        elif queue is None:
            state.state = "unknown"
        elif cell.job_id in queue:
            slurm_state, node = queue[cell.job_id]
            state.state = "queued" if slurm_state in QUEUED_STATES else "running"
            state.node = node or state.node
        elif status in ("failed", "damaged"):
            state.state = "failed"
        elif status in ("cancelled", "interrupted"):
            state.state = "cancelled"
        elif status in ("running", "pending"):
            state.state = "running"  # out of the queue, but its writer's heartbeat is still fresh: wait
        else:  # the job left the queue without making a run: cancelled while queued, or it crashed first
            state.state = "failed" if mine and task.get("state") == "failed" else "cancelled"
        out.append(state)
    return out
