"""The app's terminal goes away (tmux kill-session, a dropped SSH link): the run stops at the end of its batch,
is recorded `interrupted`, and the process exits 129 within seconds, with or without the SIGHUP that usually
comes with the hang-up. Before, the writes to the dead terminal failed (EIO), Textual's output thread died,
the app's next writes filled its queue and blocked its event loop for good, while its input thread spun on
end-of-file: the process never exited.

The app runs as `cifar-tui` does (`launch_app`) on a pseudo-terminal, training, on the Runs screen with no run,
and watching a recorded run (`cifar-tui watch`). Training uses a scripted engine (no TensorFlow)
whose batch takes 3 s to end once stopped, as a long evaluation does, with log lines redrawing the screen
all the while."""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from test_app_signals import ALT_SCREEN_ON

from cifar_tui.engine.run.resume import plan_resume

TESTS = Path(__file__).resolve().parent
EXIT_WITHIN_S = 15  # the batch ends 3 s after the stop; the rest is slack for a loaded machine

APP = """
import functools, sys, time
import cifar_tui.app.app
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run.events import tee
from cifar_tui.engine.store.recorder import RunRecorder
from events_factory import run_started
from cifar_tui.cli.launch import launch_app

def engine(config, runs_dir, sink, stop_event, run_id):
    recorder = RunRecorder(runs_dir, run_id)
    emit = tee(recorder, sink)
    emit(run_started(run_id, strategies=("scratch",)))
    emit(ev.StrategyStarted(strategy="scratch", image_size=32, epochs=5, steps_per_epoch=10_000,
                            total_params=10, weights="random"))
    step = 0
    while not stop_event.is_set():
        step += 1
        emit(ev.BatchEnd(strategy="scratch", phase="train", epoch=1, step=step, steps=10_000, loss=1.0,
                         accuracy=0.5, images_per_s=1000.0 + step))
        open(sys.argv[2], "w").write(str(step))
        time.sleep(0.01)
    stopped = time.monotonic()
    while time.monotonic() - stopped < 3.0:  # the batch ends 3 s after the stop, saying what it does
        emit(ev.LogMessage(level="info", message=f"finishing the batch: {time.monotonic() - stopped:.2f} s"))
        time.sleep(0.02)
    reason = getattr(stop_event, "reason", "")
    emit(ev.RunFinished(status="interrupted" if reason else "cancelled", seconds=1.0, error=reason))
    recorder.close()

cifar_tui.app.app.CifarTuiApp = functools.partial(cifar_tui.app.app.CifarTuiApp, engine=engine)
runs, mode = sys.argv[1], sys.argv[3]
if mode == "watch":
    from events_factory import record_runs
    record_runs(runs, ["20270115-080000-watched-abcd"])
start = ExperimentConfig(dataset="digits", weights="none") if mode == "run" else None
sys.exit(launch_app(runs, start=start, watch="watched" if mode == "watch" else None))
"""
DRAWN = {"run": b"1 curves", "runs": b"no run yet", "watch": b"watched"}  # on screen once the mode is up


def start_app(tmp_path: Path, controlling_tty: bool, mode: str) -> tuple[subprocess.Popen, int]:
    (tmp_path / "app.py").write_text(APP)
    return in_pty([sys.executable, str(tmp_path / "app.py"), str(tmp_path / "runs"), str(tmp_path / "batches"),
                   mode], controlling_tty, {"PYTHONPATH": f"{TESTS.parent}:{TESTS}"})


def in_pty(argv: list[str], controlling_tty: bool, env: dict) -> tuple[subprocess.Popen, int]:
    """`argv` on a 100x30 pseudo-terminal; as tmux's or sshd's command it is its session's leader and the
    terminal is its controlling one (its hang-up then sends SIGHUP); otherwise it only loses the terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                               env={**os.environ, "TERM": "xterm-256color", **env},
                               preexec_fn=(lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0)) if controlling_tty else None)
    os.close(slave)
    return process, master


def wait_for_exit(process: subprocess.Popen, seconds: float) -> int:
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the app still runs {seconds} s after its terminal went away")


def read_until(master: int, process: subprocess.Popen, done, what: str, timeout: float = 60) -> None:
    output, deadline = bytearray(), time.monotonic() + timeout
    while not done(output):
        assert process.poll() is None, f"the app exited ({process.returncode}) before {what}: {bytes(output[-600:])}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s: {bytes(output[-600:])}"
        if select.select([master], [], [], 0.1)[0]:
            output += os.read(master, 65536)


@pytest.mark.parametrize("mode", ["run", "runs", "watch"], ids=["training", "runs-screen", "watch"])
@pytest.mark.parametrize("controlling_tty", [True, False], ids=["hang-up-with-sighup", "terminal-gone-only"])
def test_the_terminal_going_away_stops_the_run_and_the_app_exits(tmp_path, controlling_tty, mode):
    process, master = start_app(tmp_path, controlling_tty, mode)
    batches = tmp_path / "batches"
    try:
        read_until(master, process, lambda out: ALT_SCREEN_ON in out and DRAWN[mode] in out
                   and (batches.exists() or mode != "run"), f"the {mode} screen drawn")
        if mode == "runs":
            os.write(master, b"r")
            read_until(master, process, lambda out: b"runs in" in out, "the Runs screen")
        os.close(master)  # the terminal goes away, as at `tmux kill-session`
        code = wait_for_exit(process, EXIT_WITHIN_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 128 + signal.SIGHUP
    if mode == "run":
        (summary_file,) = (tmp_path / "runs").glob("*/summary.json")
        summary = json.loads(summary_file.read_text())
        assert summary["status"] == "interrupted" and summary["error"] == "stopped by SIGHUP"


@pytest.mark.slow
def test_a_real_run_whose_terminal_went_away_resumes_from_its_checkpoint(tmp_path):
    runs = tmp_path / "runs"
    cli = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    process, master = in_pty([sys.executable, "-c", cli, "--preset", "quick", "--dataset", "digits", "--weights",
                              "none", "--strategies", "scratch", "--runs-dir", str(runs)], True,
                             {"KERAS_HOME": str(tmp_path / "keras")})
    try:
        read_until(master, process, lambda _: any("epoch_end" in f.read_text() for f in runs.glob("*/events.jsonl")),
                   "a finished epoch", timeout=300)
        os.close(master)
        code = wait_for_exit(process, 120)  # a real batch, then TensorFlow's exit, on a loaded 2-core machine
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 128 + signal.SIGHUP
    (summary_file,) = runs.glob("*/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "interrupted" and summary["error"] == "stopped by SIGHUP"
    plan = plan_resume(runs, summary["run_id"])
    assert plan.from_epochs()["scratch"] >= 1  # continues after its last checkpointed epoch
