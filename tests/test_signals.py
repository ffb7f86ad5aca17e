"""Fault tests with real processes: a headless run is stopped by SIGTERM (at the next batch, recorded as
interrupted with the reason) or killed by SIGKILL (the store shows it interrupted: its process is gone),
then `cifar-tui resume` continues it from its last epoch checkpoint. The finished run must have every
epoch once, one continuous event log, and a best epoch that agrees with its validation curve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cifar_tui.engine.store.reader import list_runs, load_run

EPOCHS = 6
ARGS = ["--plain"]
RUN = ["run", "--dataset", "digits", "--strategies", "scratch", "--epochs", str(EPOCHS), "--train-per-class",
       "40", "--batch-size", "16", "--name", "fault"]


def cli(runs_dir, *args):
    code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    return subprocess.Popen([sys.executable, "-c", code, *args, *ARGS, "--runs-dir", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_epoch(runs_dir, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for events in runs_dir.glob("*/events.jsonl"):
            if '"type":"epoch_end"' in events.read_text():
                return events.parent
        time.sleep(0.05)
    raise AssertionError("no epoch finished in time")


def resume_and_check(runs_dir, folder, before: bytes):
    process = cli(runs_dir, "resume", folder.name)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    after = (folder / "events.jsonl").read_bytes()
    # One continuous log: what was there before the resume is still there, unchanged (a torn last line
    # excepted), and every line is a complete JSON event.
    kept = before if before.endswith(b"\n") else before[: before.rfind(b"\n") + 1]
    assert after.startswith(kept)
    types = [json.loads(line)["type"] for line in after.splitlines()]
    assert types.count("run_started") == 1 and types.count("run_resumed") == 1
    assert types[-1] == "run_finished"

    loaded = load_run(runs_dir, folder.name)
    scratch = loaded.state.strategies["scratch"]
    assert loaded.state.status == "finished" and scratch.status == "finished"
    assert [h["epoch"] for h in scratch.history] == list(range(1, EPOCHS + 1))  # each epoch once, all of them
    val = [h["val_accuracy"] for h in scratch.history]
    assert scratch.best_epoch == 1 + val.index(max(val))  # best-epoch tracking survived the resume
    assert scratch.best_val_accuracy == pytest.approx(max(val))
    assert loaded.skipped_lines == []
    assert list_runs(runs_dir)[0].status == "finished"


@pytest.mark.slow
def test_sigterm_stops_at_the_next_batch_then_resume_finishes_the_run(tmp_path):
    process = cli(tmp_path, *RUN)
    folder = wait_for_epoch(tmp_path, process)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["error"] == "stopped by SIGTERM"
    assert summary["strategies"]["scratch"]["status"] == "cancelled"
    assert summary["strategies"]["scratch"]["epoch"] < EPOCHS
    assert "Traceback" not in err and f"continue it with: cifar-tui resume {folder.name} --runs-dir {tmp_path}" in out
    assert list_runs(tmp_path)[0].status == "interrupted"
    assert (folder / "checkpoints" / "scratch" / "state.json").exists()
    resume_and_check(tmp_path, folder, (folder / "events.jsonl").read_bytes())


@pytest.mark.slow
def test_sigkill_leaves_an_interrupted_run_that_resumes_from_its_checkpoint(tmp_path):
    process = cli(tmp_path, *RUN)
    folder = wait_for_epoch(tmp_path, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    (listing,) = list_runs(tmp_path)
    assert listing.status == "interrupted"  # its pid is gone, even before the heartbeat goes stale
    assert load_run(tmp_path, folder.name).state.strategies["scratch"].epoch >= 1
    resume_and_check(tmp_path, folder, (folder / "events.jsonl").read_bytes())


def test_resume_refuses_a_finished_or_unknown_run(tmp_path):
    from events_factory import record_runs

    run_id = "20260101-000000-done-0000abcd"
    record_runs(tmp_path, [run_id])
    for ref, message in ((run_id, "finished; nothing to resume"), ("nope", "no run 'nope'")):
        process = cli(tmp_path, "resume", ref)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 2 and message in err and err.count("\n") == 1, err
