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

from engine.errors import ConfigError, UserError
from engine.study import slurm
from engine.study.slurm import CellTask, SlurmOptions, check_shared_folder


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
