"""Fault tests with real processes: SIGTERM stops a headless run at the next batch and records it as
interrupted with the reason; SIGKILL leaves a run the store shows as interrupted (its process is gone)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.store.reader import list_runs, load_run

ARGS = ["run", "--dataset", "digits", "--strategies", "scratch", "--epochs", "50", "--train-per-class", "40",
        "--batch-size", "16", "--plain", "--name", "fault"]


def start(runs_dir):
    code = "import sys; from tui.cli import main; main(sys.argv[1:])"
    return subprocess.Popen([sys.executable, "-c", code, *ARGS, "--runs-dir", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_epoch(runs_dir, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for events in runs_dir.glob("*/events.jsonl"):
            if '"type":"epoch_end"' in events.read_text():
                return events.parent
        time.sleep(0.2)
    raise AssertionError("no epoch finished in time")


@pytest.mark.slow
def test_sigterm_stops_at_the_next_batch_and_records_interrupted(tmp_path):
    process = start(tmp_path)
    folder = wait_for_epoch(tmp_path, process)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["error"] == "stopped by SIGTERM"
    assert summary["strategies"]["scratch"]["status"] == "cancelled"
    assert "Traceback" not in err
    assert list_runs(tmp_path)[0].status == "interrupted"


@pytest.mark.slow
def test_sigkill_leaves_an_interrupted_run_with_its_events(tmp_path):
    process = start(tmp_path)
    folder = wait_for_epoch(tmp_path, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    (listing,) = list_runs(tmp_path)
    assert listing.status == "interrupted"  # its pid is gone, even before the heartbeat goes stale
    loaded = load_run(tmp_path, folder.name)
    assert loaded.state.strategies["scratch"].epoch >= 1
