"""`cifar-tui study SPEC --executor slurm`: the study's pending cells as one Slurm job array (submitit).

Each cell becomes one array task (`CellTask`), which runs `cifar-tui study-cell` in its own process on its
node (TensorFlow never hands GPU memory back within a process) and writes the cell's status file. The
submitting process links every run in the study record before submitting, and records the job id and log
file of each task; it holds the study lock only while it reconciles and submits.

Preemption or a time limit: Slurm signals the task (USR2 `signal_delay_s` before the limit); submitit calls
`CellTask.checkpoint`, which stops the child at its next batch (its last epoch checkpoint is on disk) and
requeues the task; the requeued task resumes the same run from that checkpoint. A plain `scancel` stops the
child the same way (SIGTERM) and leaves a cancelled, resumable run, which the next `study --executor slurm`
submits again.

The runs folder must be on a filesystem every node sees: `check_shared_folder` refuses local scratch
(/tmp and the like) unless CIFAR_TUI_SLURM_LOCAL_OK=1 says the cluster is this one host (tests).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_tui.engine.errors import ConfigError, UserError
from cifar_tui.engine.store.lock import RunLock
from cifar_tui.engine.study.cell_status import cell_states, read_task_status, run_status, slurm_queue, write_task_status
from cifar_tui.engine.study.record import StudyRecord, save_record, study_dir
from cifar_tui.engine.study.sbatch import files_in, refusal_line, remove_leftovers
from cifar_tui.engine.study.spec import StudySpec

LOCAL_OK_ENV = "CIFAR_TUI_SLURM_LOCAL_OK"
LOCAL_SCRATCH = ("/tmp", "/var/tmp", "/dev/shm", "/run")
POLL_S = 0.5
STOP_WAIT_S = 60  # a stopped child finishes its batch and writes its record within this (signal_delay_s is 90)
OPTION_TYPES = {"partition": (str, "a string"), "time": (int, "whole minutes"), "mem_gb": ((int, float), "a number"),
                "account": (str, "a string"), "gpus_per_task": (int, "a whole number"),
                "cpus_per_task": (int, "a whole number"), "max_parallel": (int, "a whole number"),
                "sbatch": (dict, "a table of sbatch options, e.g. { qos = \"high\" }")}


@dataclass
class SlurmOptions:
    """sbatch resources for every task. `time` is the limit per task in minutes; `sbatch` adds any other
    sbatch option by its long name (`{"qos": "high", "constraint": "a100"}` -> `--qos=high ...`)."""
    partition: str | None = None
    time: int = 240
    mem_gb: float | None = None
    account: str | None = None
    gpus_per_task: int = 1
    cpus_per_task: int | None = None
    max_parallel: int | None = None
    sbatch: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_sources(cls, table: dict[str, Any], flags: dict[str, Any]) -> SlurmOptions:
        """The spec's [slurm] table, then the command's flags (None: not given) on top. ConfigError: one line."""
        merged = dict(table)
        merged.update({k: v for k, v in flags.items() if v is not None and v != {}})
        if flags.get("sbatch") and isinstance(table.get("sbatch"), dict):
            merged["sbatch"] = {**table["sbatch"], **flags["sbatch"]}
        for key, value in merged.items():
            if key not in OPTION_TYPES:
                raise ConfigError(f"[slurm]: unknown key {key!r} (expected {', '.join(OPTION_TYPES)})")
            kind, words = OPTION_TYPES[key]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(f"[slurm]: {key} must be {words}, got {value!r}")
        options = cls(**merged)
        options.sbatch = {str(k): str(v) for k, v in options.sbatch.items()}
        for key in ("time", "max_parallel", "cpus_per_task"):
            value = getattr(options, key)
            if value is not None and value < 1:
                raise ConfigError(f"[slurm]: {key} must be at least 1, got {value}")
        if options.gpus_per_task < 0 or (options.mem_gb is not None and options.mem_gb <= 0):
            raise ConfigError("[slurm]: gpus_per_task must be 0 or more and mem_gb more than 0")
        return options

    def parameters(self, study: str) -> dict[str, Any]:
        """submitit.SlurmExecutor parameters (sbatch options)."""
        out: dict[str, Any] = {"job_name": f"cifar-tui-{study}", "time": self.time, "stderr_to_stdout": True,
                               "array_parallelism": self.max_parallel or 256}
        if self.gpus_per_task:
            out["gpus_per_node"] = self.gpus_per_task  # one task per node per array element
        for key in ("partition", "account", "cpus_per_task"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.mem_gb is not None:
            out["mem"] = f"{int(self.mem_gb * 1024)}MB"
        if self.sbatch:
            out["additional_parameters"] = dict(self.sbatch)
        return out


def check_shared_folder(runs_dir: Path) -> None:
    """UserError when the runs folder is local scratch that other nodes cannot see."""
    if os.environ.get(LOCAL_OK_ENV) == "1":
        return
    path = Path(runs_dir).resolve()
    scratch = {*LOCAL_SCRATCH, str(Path(tempfile.gettempdir()).resolve())}
    for root in sorted(scratch):
        if path == Path(root) or Path(root) in path.parents:
            raise UserError(f"--executor slurm: the runs folder {path} is under {root}, local to this host; tasks "
                            f"on other nodes cannot see it: use a shared folder (--runs-dir) "
                            f"(on a one-host cluster, set {LOCAL_OK_ENV}=1)")


def _ended(child: subprocess.Popen) -> bool:
    """Has the child exited? Safe inside a signal handler: `checkpoint` runs in one, on the main thread,
    possibly while `__call__` is inside Popen.wait(), whose lock it holds; a second wait() there could
    never take that lock and would wait for its whole timeout. A zombie is read from /proc instead."""
    if child.returncode is not None or child.poll() is not None:
        return True
    try:
        stat = Path(f"/proc/{child.pid}/stat").read_text()
    except OSError:
        return True  # reaped already
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def wait_for_child(child: subprocess.Popen) -> None:
    while not _ended(child):  # not Popen.wait(): see _ended
        time.sleep(POLL_S)


def _ignore_usr2() -> None:
    # Slurm signals every process of the step; the child stops on the SIGTERM its parent sends, not on USR2
    # (whose default action would kill it mid-write).
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)


class CellTask:
    """One cell as a Slurm task (pickled by submitit). Resumes its run when the run already exists."""

    def __init__(self, runs_dir: str, study: str, index: int, run_id: str, config_file: str) -> None:
        self.runs_dir, self.study, self.index = runs_dir, study, index
        self.run_id, self.config_file = run_id, config_file
        self._child: subprocess.Popen | None = None

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_child"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _child=None)

    def __call__(self) -> str:
        import submitit

        from cifar_tui.engine.study.parallel import child_command

        env = submitit.JobEnvironment()
        runs_dir = Path(self.runs_dir)
        job = {"job_id": env.job_id, "node": env.hostname, "log": str(env.paths.stdout)}
        status = run_status(runs_dir, self.run_id)
        if status == "finished":  # requeued after it had finished: nothing to do
            write_task_status(runs_dir, self.study, self.index, state="finished", **job)
            return status
        write_task_status(runs_dir, self.study, self.index, state="running", **job)
        resume = (runs_dir / self.run_id).is_dir()
        command = child_command(None if resume else Path(self.config_file), self.run_id, runs_dir)
        print(f"cell {self.index}: {'resuming' if resume else 'starting'} run {self.run_id} on {env.hostname}",
              flush=True)
        self._child = subprocess.Popen(command, preexec_fn=_ignore_usr2)
        wait_for_child(self._child)
        code = self._child.wait()
        status = run_status(runs_dir, self.run_id)
        failed = status in ("failed", "damaged", "missing") or (code != 0 and status == "running")
        write_task_status(runs_dir, self.study, self.index, state="failed" if failed else status, exit_code=code,
                          **job)
        if failed:
            raise RuntimeError(f"cell {self.index} (run {self.run_id}) ended {status}, exit code {code}")
        return status

    def checkpoint(self):
        """Preempted or near the time limit: stop the child at its next batch, then be requeued as is."""
        import submitit

        child = self._child
        if child is not None and not _ended(child):
            child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_WAIT_S
            while not _ended(child) and time.monotonic() < deadline:
                time.sleep(POLL_S)
            if not _ended(child):
                child.kill()  # the last epoch checkpoint is still there
        write_task_status(Path(self.runs_dir), self.study, self.index, state="requeued",
                          job_id=read_task_status(Path(self.runs_dir), self.study, self.index).get("job_id", ""))
        return submitit.helpers.DelayedSubmission(
            CellTask(self.runs_dir, self.study, self.index, self.run_id, self.config_file))


@dataclass
class Submitted:
    index: int
    label: str
    run_id: str
    action: str  # "new", "resume", "kept" (finished, queued or running: not submitted), "refused" (cannot run)
    state: str
    job_id: str = ""


def submit_study(spec: StudySpec, runs_dir: Path, options: SlurmOptions,
                 retry_failed: bool = False) -> list[Submitted]:
    """Reconcile the study with Slurm, then submit every cell that is neither finished nor queued/running
    (nor a diverged result, unless `retry_failed`) as one job array. Raises UserError (one line) when Slurm
    cannot be asked or refuses the array."""
    from cifar_tui.engine.study.runner import decide, open_record, refusal, refuse, settle

    runs_dir = Path(runs_dir)
    check_shared_folder(runs_dir)
    record = open_record(spec, runs_dir)
    folder = study_dir(runs_dir, spec.name)
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    lock = RunLock(folder, what="study").acquire()
    try:
        save_record(runs_dir, record)
        states = cell_states(record, runs_dir, slurm_queue())  # Slurm unreachable: nothing is submitted
        out, todo = [], []
        for entry, state in zip(record.cells, states, strict=True):
            if entry.job_id:  # what Slurm and the run say now, kept in the record
                entry.state, entry.node = state.state, state.node or entry.node
        for cell, state in zip(spec.cells(), states, strict=True):
            if state.state in ("finished", "queued", "running"):
                out.append(Submitted(cell.index, cell.label, state.run_id, "kept", state.state, state.job_id))
                continue
            entry = record.cells[cell.index]
            decision = decide(runs_dir, entry.run_id, retry_failed)
            action, _ = settle(decision)
            if action == "skipped":  # a diverged result is kept, as in a local study (issue #13)
                if decision[0] == "close":  # just recorded finished: not the state read before
                    entry.state = "finished"
                shown = "finished (closed: every strategy had finished)" if decision[0] == "close" else state.state
                out.append(Submitted(cell.index, cell.label, entry.run_id, "kept", shown, state.job_id))
                continue
            if action == "new" and (reason := refusal(cell)):  # cannot run on its data: failed, not submitted
                refuse(cell, record, runs_dir, reason)
                out.append(Submitted(cell.index, cell.label, entry.run_id, "refused", f"failed, {reason}"))
                continue
            if action == "new":
                if not entry.run_id or (runs_dir / entry.run_id).exists():  # never reuse a run that exists
                    from cifar_tui.engine.store.ids import new_run_id

                    entry.run_ids.append(new_run_id(cell.config.name))
                config_file = folder / "cells" / f"cell-{cell.index:03d}.json"
                config_file.write_text(json.dumps(cell.config.to_dict(), indent=2))
            todo.append((cell, entry, "resume" if action == "resume" else "new"))
        save_record(runs_dir, record)  # runs linked before any task can start
        jobs = _submit(spec.name, folder, runs_dir, options, todo) if todo else []
        for (cell, entry, action), job in zip(todo, jobs, strict=True):
            entry.job_id, entry.state, entry.log = job.job_id, "queued", str(job.paths.stdout)
            entry.submitted, entry.node = time.time(), ""
            out.append(Submitted(cell.index, cell.label, entry.run_id, action, "queued", job.job_id))
        save_record(runs_dir, record)
    finally:
        lock.release()
    return sorted(out, key=lambda s: s.index)


def _submit(study: str, folder: Path, runs_dir: Path, options: SlurmOptions, todo: list) -> list:
    import submitit

    jobs, slurm_folder = [], folder / "slurm"
    existed, before = slurm_folder.is_dir(), files_in(slurm_folder)
    try:
        # submitit also prints sbatch's error on stderr: it is said once, in the line below
        with contextlib.redirect_stderr(io.StringIO()):
            executor = submitit.SlurmExecutor(folder=slurm_folder)
            executor.update_parameters(**options.parameters(study))
            with executor.batch():  # one sbatch: the cells are the tasks of one array
                for cell, entry, _ in todo:
                    config_file = folder / "cells" / f"cell-{cell.index:03d}.json"
                    jobs.append(executor.submit(CellTask(str(runs_dir.resolve()), study, cell.index, entry.run_id,
                                                         str(config_file))))
    except BaseException as exc:  # refused, or interrupted: no orphan pickles or sbatch scripts left behind
        remove_leftovers(slurm_folder, before, existed)
        if isinstance(exc, RuntimeError):  # no srun here, or sbatch refused the array (submitit puts its output in)
            raise UserError(f"Slurm did not take the job array: {refusal_line(str(exc), options.gpus_per_task)}") \
                from None
        if isinstance(exc, (OSError, ValueError, subprocess.SubprocessError)):
            raise UserError(f"Slurm did not take the job array: {exc}") from None
        raise
    return jobs


def cancel_study(record: StudyRecord, runs_dir: Path) -> list[str]:
    """scancel every queued or running task of the study; returns the job ids cancelled."""
    import submitit

    states = cell_states(record, runs_dir, slurm_queue())
    ids = [s.job_id for s in states if s.state in ("queued", "running")]
    folder = study_dir(runs_dir, record.name) / "slurm"
    for job_id in ids:
        try:
            submitit.SlurmJob(folder=folder, job_id=job_id).cancel(check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise UserError(f"scancel {job_id} failed: {exc}") from None
    return ids


def follow_study(runs_dir: Path, name: str, on_change, stop_event, poll_s: float = 2.0) -> list:
    """Poll Slurm and the run folder until no cell is queued or running (or `stop_event` is set); calls
    `on_change(state)` whenever a cell's state changes. Returns the last CellStates."""
    from cifar_tui.engine.study.record import load_record

    seen: dict[int, str] = {}
    while True:
        record = load_record(runs_dir, name)
        states = cell_states(record, runs_dir, slurm_queue())
        for state in states:
            if seen.get(state.index) != state.state:
                seen[state.index] = state.state
                on_change(state)
        if not any(s.state in ("queued", "running") for s in states) or stop_event.wait(poll_s):
            return states
