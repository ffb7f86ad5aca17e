"""The Slurm executor's parts that need no Slurm: options, the shared-folder check, the task's checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cifar_tui.engine.errors import ConfigError, UserError
from cifar_tui.engine.study import slurm
from cifar_tui.engine.study.slurm import CellTask, SlurmOptions, check_shared_folder


def test_options_come_from_the_spec_table_then_flags():
    options = SlurmOptions.from_sources({"partition": "gpu", "time": 30, "sbatch": {"qos": "low"}},
                                        {"time": 90, "account": None, "sbatch": {"constraint": "a100"}})
    params = options.parameters("grid")
    assert (params["partition"], params["time"], params["gpus_per_node"]) == ("gpu", 90, 1)  # one GPU by default
    assert params["additional_parameters"] == {"qos": "low", "constraint": "a100"} and "account" not in params
    assert "gpus_per_node" not in SlurmOptions.from_sources({"gpus_per_task": 0}, {}).parameters("grid")
    assert SlurmOptions.from_sources({}, {"max_parallel": 3, "mem_gb": 1.5}).parameters("g")["array_parallelism"] == 3
    for table, message in (({"partiton": "gpu"}, "unknown key 'partiton'"), ({"time": "1h"}, "whole minutes"),
                           ({"max_parallel": 0}, "at least 1"), ({"gpus_per_task": -1}, "0 or more")):
        with pytest.raises(ConfigError, match=message):
            SlurmOptions.from_sources(table, {})


def test_a_runs_folder_in_local_scratch_is_refused_unless_the_cluster_is_this_host(monkeypatch, tmp_path):
    monkeypatch.delenv(slurm.LOCAL_OK_ENV, raising=False)
    with pytest.raises(UserError, match="local to this host"):
        check_shared_folder(tmp_path / "runs")
    with pytest.raises(UserError, match="/dev/shm"):
        check_shared_folder(Path("/dev/shm/runs"))
    check_shared_folder(Path.home() / "cluster-runs")  # not created: only the path is judged
    monkeypatch.setenv(slurm.LOCAL_OK_ENV, "1")
    check_shared_folder(tmp_path / "runs")


def test_checkpoint_stops_the_child_gracefully_from_inside_the_preemption_signal_handler(tmp_path, monkeypatch):
    monkeypatch.setattr(slurm, "STOP_WAIT_S", 20)
    task = CellTask(str(tmp_path), "grid", 3, "run-x", str(tmp_path / "cell.json"))
    stops_on_term = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(7)); time.sleep(60)"
    task._child = subprocess.Popen([sys.executable, "-c", stops_on_term])
    time.sleep(0.5)  # its handler is installed
    seen = {}

    def on_usr2(signum, frame):  # what submitit does on USR2: call checkpoint() on the main thread
        started = time.monotonic()
        seen["requeued"] = task.checkpoint()
        seen["seconds"] = time.monotonic() - started

    previous = signal.signal(signal.SIGUSR2, on_usr2)
    try:
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGUSR2)).start()
        slurm.wait_for_child(task._child)  # where the task's main thread waits
    finally:
        signal.signal(signal.SIGUSR2, previous)
    assert task._child.wait() == 7 and seen["seconds"] < 10  # stopped by its SIGTERM, not killed at the deadline
    again = seen["requeued"].function
    assert isinstance(again, CellTask) and (again.run_id, again.index) == ("run-x", 3)
    assert (tmp_path / ".studies" / "grid" / "cells" / "cell-003.status.json").exists()


def test_reconciliation_submits_only_cells_neither_finished_nor_in_slurms_queue(tmp_path, monkeypatch):
    """Five cells already submitted once: a finished run, a task still pending, one running, one that left the
    queue without a run (cancelled while queued) and one recorded cancelled after its strategy had finished and
    been tested (closed as finished and kept: it was submitted again as a new run)."""
    from types import SimpleNamespace

    from events_factory import run_started, strategy_events

    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.store.recorder import RunRecorder
    from cifar_tui.engine.study import cell_status
    from cifar_tui.engine.study.record import load_record, new_record, save_record
    from cifar_tui.engine.study.spec import parse_spec

    monkeypatch.setenv(slurm.LOCAL_OK_ENV, "1")
    spec = parse_spec({"name": "grid", "x": "seed", "axes": {"seed": [0, 1, 2, 3, 4]},
                       "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch"]}})
    record = new_record(spec)
    for cell in record.cells:
        cell.run_ids.append(f"20270101-00000{cell.index}-grid-00{cell.index}-0000abc{cell.index}")
        cell.job_id = f"9_{cell.index}"
    for index, status in ((0, "finished"), (4, "cancelled")):
        run_id = record.cells[index].run_id
        recorder = RunRecorder(tmp_path, run_id)
        for e in [run_started(run_id, strategies=("scratch",)), *strategy_events("scratch", test_acc=0.5),
                  ev.RunFinished(status=status, seconds=5.0)]:
            recorder(e)
        recorder.close()
    save_record(tmp_path, record)
    queue = {"9_1": ("PENDING", ""), "9_2": ("RUNNING", "n7"), "9_0": ("COMPLETING", "n1")}
    monkeypatch.setattr(slurm, "slurm_queue", lambda: queue)
    states = cell_status.cell_states(record, tmp_path, queue)
    assert [(s.state, s.node) for s in states] == [("finished", ""), ("queued", ""), ("running", "n7"),
                                                   ("cancelled", ""), ("cancelled", "")]
    assert [s.state for s in cell_status.cell_states(record, tmp_path, None)] == ["finished"] + ["unknown"] * 4

    submitted = []

    def fake_submit(study, folder, runs_dir, options, todo):
        submitted.extend((cell.index, action) for cell, _, action in todo)
        return [SimpleNamespace(job_id=f"10_{i}", paths=SimpleNamespace(stdout=folder / f"10_{i}_0_log.out"))
                for i in range(len(todo))]

    monkeypatch.setattr(slurm, "_submit", fake_submit)
    out = slurm.submit_study(spec, tmp_path, SlurmOptions())
    assert submitted == [(3, "new")]  # never a second job for a queued or running cell, nor an ended one
    assert [s.action for s in out] == ["kept", "kept", "kept", "new", "kept"]
    assert out[4].state == "finished (closed: every strategy had finished)"  # not the "cancelled" read before
    after = load_record(tmp_path, "grid").cells
    assert [c.job_id for c in after] == ["9_0", "9_1", "9_2", "10_0", "9_4"]
    assert after[3].run_ids == record.cells[3].run_ids  # its run never started: the same id, not a new one
    assert after[4].run_ids == record.cells[4].run_ids  # its result kept, the run recorded finished
    assert cell_status.cell_states(record, tmp_path, {})[4].state == "finished"
    assert after[2].node == "n7" and (after[1].state, after[3].state) == ("queued", "queued")


def test_a_diverged_cell_is_kept_on_slurm_unless_retried(tmp_path, monkeypatch):
    """Issue #13 on the cluster path: a strategy whose loss became NaN is a result; --retry-failed reruns it."""
    from types import SimpleNamespace

    from events_factory import run_started

    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.store.recorder import RunRecorder
    from cifar_tui.engine.study.record import new_record, save_record
    from cifar_tui.engine.study.spec import parse_spec

    monkeypatch.setenv(slurm.LOCAL_OK_ENV, "1")
    spec = parse_spec({"name": "nan", "x": "seed", "axes": {"seed": [0]},
                       "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch"]}})
    record = new_record(spec)
    run_id = "20270101-000000-nan-000-0000abcd"
    record.cells[0].run_ids.append(run_id)
    record.cells[0].job_id = "9_0"
    recorder = RunRecorder(tmp_path, run_id)
    for e in [run_started(run_id, strategies=("scratch",)),
              ev.StrategyFailed(strategy="scratch", error="loss became NaN at epoch 2, step 3"),
              ev.RunFinished(status="failed", seconds=5.0, error="a strategy failed")]:
        recorder(e)
    recorder.close()
    save_record(tmp_path, record)
    monkeypatch.setattr(slurm, "slurm_queue", lambda: {})
    submitted = []

    def fake_submit(study, folder, runs_dir, options, todo):
        submitted.extend(cell.index for cell, _, _ in todo)
        return [SimpleNamespace(job_id=f"10_{i}", paths=SimpleNamespace(stdout=folder / "log.out"))
                for i in range(len(todo))]

    monkeypatch.setattr(slurm, "_submit", fake_submit)
    assert [s.action for s in slurm.submit_study(spec, tmp_path, SlurmOptions())] == ["kept"]
    assert submitted == []
    assert [s.action for s in slurm.submit_study(spec, tmp_path, SlurmOptions(), retry_failed=True)] == ["new"]
    assert submitted == [0]
