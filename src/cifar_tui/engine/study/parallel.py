"""`cifar-tui study SPEC --parallel N`: N cells at a time, one child process each (one GPU each).

The parent process holds the study's lock, decides what each cell needs (skip, resume, new run), links
new run ids in the study record before their child starts, and launches `cifar-tui study-cell` children:
each records one ordinary run (per-run locks keep two writers off one run). With GPUs, child k sees only
the k-th visible GPU (CUDA_VISIBLE_DEVICES), so N is at most the number of GPUs; "visible" is the user's own
CUDA_VISIBLE_DEVICES when it is set (subdivided, never widened), else every GPU nvidia-smi lists. Without
GPUs the children share the CPU. A stop (Ctrl-C, SIGTERM, SIGHUP) is forwarded to the children, which stop
at their next batch and leave resumable runs. Each child's output goes to runs/.studies/<name>/logs/.

Children run in their own session, so a parent killed outright (SIGKILL, a lost SSH session without
SIGHUP) leaves them running. The next `study` finds such an orphan by its run's lock (or fresh heartbeat),
keeps its GPU slot, waits for it to end and only then decides what the cell needs: a cell is never started
twice while a writer is still on it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cifar_tui.engine.store.lock import RunLock, is_locked
from cifar_tui.engine.study.cell_status import read_task_status, write_task_status
from cifar_tui.engine.study.record import save_record, study_dir
from cifar_tui.engine.study.runner import CellOutcome, cell_status, decide, open_record, refusal, refuse, settle
from cifar_tui.engine.study.spec import Cell, StudySpec

POLL_S = 0.2


def visible_gpus(environ: dict[str, str] | None = None) -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries (indices or UUIDs): the user's own
    CUDA_VISIBLE_DEVICES when set (CUDA stops at the first negative entry: "-1" or "" means none), else every
    GPU nvidia-smi lists (no TensorFlow in the parent); empty without GPUs."""
    env = os.environ if environ is None else environ
    if "CUDA_VISIBLE_DEVICES" in env:
        out = []
        for entry in (e.strip() for e in env["CUDA_VISIBLE_DEVICES"].split(",")):
            if not entry or entry.startswith("-"):
                break
            out.append(entry)
        return out
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def child_command(config_file: Path | None, run_id: str, runs_dir: Path) -> list[str]:
    code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    args = ["study-cell", "--run-id", run_id, "--runs-dir", str(runs_dir)]
    if config_file is not None:
        args += ["--config", str(config_file)]
    return [sys.executable, "-c", code, *args]


def run_study_parallel(spec: StudySpec, runs_dir: Path, parallel: int, stop_event: threading.Event | None = None,
                       on_cell: Callable[[CellOutcome], None] | None = None,
                       gpus: list[str] | None = None, retry_failed: bool = False) -> list[CellOutcome]:
    stop_event = stop_event or threading.Event()
    runs_dir = Path(runs_dir)
    record = open_record(spec, runs_dir)
    folder = study_dir(runs_dir, spec.name)
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    gpus = visible_gpus() if gpus is None else gpus
    slots = list(range(min(parallel, len(gpus)) if gpus else parallel))
    lock = RunLock(folder, what="study").acquire()
    outcomes: list[CellOutcome] = []
    running: dict[int, tuple[subprocess.Popen, Cell, str, str, object]] = {}  # slot -> child
    orphans: dict[int, tuple[Cell, str, int | None]] = {}  # cell index -> (cell, run id, slot it holds)
    try:
        save_record(runs_dir, record)
        queue: list[tuple[Cell, str]] = []
        for cell in spec.cells():
            run_id = record.cells[cell.index].run_id
            if _still_written(runs_dir, run_id):  # an earlier parent's child, still at work: never a second one
                slot = read_task_status(runs_dir, spec.name, cell.index).get("slot")
                free = slot in slots and slot not in {s for *_, s in orphans.values()}
                orphans[cell.index] = (cell, run_id, slot if free else None)
                print(f"cell {cell.index + 1} ({cell.label}): run {run_id} is still being written by a process "
                      f"of an earlier study run; waiting for it", file=sys.stderr, flush=True)
                continue
            action, _ = settle(decide(runs_dir, run_id, retry_failed))
            reason = refusal(cell) if action == "new" else ""
            if action == "skipped" or reason:  # a cell that cannot run: failed with its reason, no child
                outcome = (refuse(cell, record, runs_dir, reason) if reason else
                           CellOutcome(cell, run_id, "skipped", cell_status(runs_dir, run_id)))
                outcomes.append(outcome)
                if on_cell is not None:
                    on_cell(outcome)
            else:
                queue.append((cell, action))
        while queue or running or orphans:
            if stop_event.is_set():
                queue.clear()
                orphans.clear()  # not ours to stop; the next run finds them again
                for process, *_ in running.values():
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
            for index, (cell, run_id, _) in list(orphans.items()):
                if not _still_written(runs_dir, run_id):  # it ended: now decide as for any cell
                    del orphans[index]
                    queue.insert(0, (cell, settle(decide(runs_dir, run_id))[0]))
            held = {slot for *_, slot in orphans.values()}
            for slot in slots:
                if slot in running or slot in held or not queue:
                    continue
                cell, action = queue.pop(0)
                if action == "skipped":  # an orphan that finished its run
                    outcome = CellOutcome(cell, record.cells[cell.index].run_id, "skipped", "finished")
                    outcomes.append(outcome)
                    if on_cell is not None:
                        on_cell(outcome)
                    continue
                running[slot] = _launch(cell, action, record, runs_dir, folder, gpus[slot] if gpus else None)
                write_task_status(runs_dir, spec.name, cell.index, state="running", slot=slot,
                                  gpu=gpus[slot] if gpus else "", child_pid=running[slot][0].pid)
            time.sleep(POLL_S)
            for slot, (process, cell, run_id, action, log) in list(running.items()):
                if process.poll() is None:
                    continue
                log.close()
                del running[slot]
                reason = _refused_by_child(runs_dir, run_id, log.name) if action == "new" else ""
                if reason:  # its real data could not give the subset: the run was never made
                    record.cells[cell.index].run_ids.remove(run_id)
                    outcome = refuse(cell, record, runs_dir, reason)
                else:
                    outcome = CellOutcome(cell, run_id, action, cell_status(runs_dir, run_id),
                                          _summary(runs_dir, run_id))
                outcomes.append(outcome)
                if on_cell is not None:
                    on_cell(outcome)
    finally:
        for process, *_ in running.values():  # an error in the parent: do not leave children behind
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=120)
        lock.release()
    return sorted(outcomes, key=lambda o: o.cell.index)


def _still_written(runs_dir: Path, run_id: str) -> bool:
    """A live writer holds the run's lock (this host) or keeps its heartbeat fresh (any host)."""
    return bool(run_id) and (is_locked(Path(runs_dir) / run_id) or cell_status(runs_dir, run_id) == "running")


def _launch(cell: Cell, action: str, record, runs_dir: Path, folder: Path, gpu: str | None):
    from cifar_tui.engine.store.ids import new_run_id

    entry = record.cells[cell.index]
    config_file = None
    if action == "new":
        run_id = new_run_id(cell.config.name)
        entry.run_ids.append(run_id)
        entry.refused = ""
        save_record(runs_dir, record)  # linked before the child starts
        config_file = folder / "cells" / f"cell-{cell.index:03d}.json"
        config_file.write_text(json.dumps(cell.config.to_dict(), indent=2))
    else:
        run_id = entry.run_id
    env = dict(os.environ)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    log = open(folder / "logs" / f"cell-{cell.index:03d}.log", "a", encoding="utf-8")
    process = subprocess.Popen(child_command(config_file, run_id, runs_dir), stdout=log, stderr=subprocess.STDOUT,
                               env=env, start_new_session=True)  # our own Ctrl-C reaches it only through us
    return process, cell, run_id, "resumed" if action == "resume" else "new", log


def _refused_by_child(runs_dir: Path, run_id: str, log_file: str) -> str:
    """A child that refused its configuration before making the run (exit 2): its one-line reason."""
    if (Path(runs_dir) / run_id).exists():
        return ""
    try:
        lines = Path(log_file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    prefix = "cifar-tui: error: "
    return next((line[len(prefix):] for line in reversed(lines) if line.startswith(prefix)), "")


def _summary(runs_dir: Path, run_id: str) -> dict | None:
    from cifar_tui.engine.store.reader import read_listing

    folder = Path(runs_dir) / run_id
    return {"strategies": read_listing(folder).strategies} if folder.is_dir() else None
