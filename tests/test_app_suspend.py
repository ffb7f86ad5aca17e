"""Suspend and continue in a real shell (bash with job control, in a pseudo-terminal), as a user does:
ctrl+z or SIGTSTP stops the app and gives the terminal back; `bg` lets it train on without drawing; `fg`
brings it back with the whole screen redrawn, without a key pressed, in every order (issue #26 section 5).
The app runs with a scripted engine (no TensorFlow) that counts its batches in a file."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from test_app_signals import ALT_SCREEN_OFF, ALT_SCREEN_ON

TESTS = Path(__file__).resolve().parent
FULL_FRAME = b"1 curves"  # a panel title: drawn again only when the whole screen is

APP = """
import sys, threading
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.config.config import ExperimentConfig
from events_factory import run_started
from cifar_tui.app.app import CifarTuiApp

def engine(config, runs_dir, sink, stop_event, run_id):
    sink(run_started(run_id, strategies=("scratch",)))
    sink(ev.StrategyStarted(strategy="scratch", image_size=32, epochs=5, steps_per_epoch=10_000, total_params=10,
                            weights="random"))
    step = 0
    while not stop_event.wait(0.02):
        step += 1
        sink(ev.BatchEnd(strategy="scratch", phase="train", epoch=1, step=step, steps=10_000, loss=1.0,
                         accuracy=0.5, images_per_s=1000.0))
        open(sys.argv[2], "w").write(str(step))
    sink(ev.RunFinished(status="cancelled", seconds=1.0))

app = CifarTuiApp(sys.argv[1], start=ExperimentConfig(dataset="digits", weights="none"), engine=engine)
app.run()
"""


class ShellInPty:
    """An interactive bash, with job control, on a 100x30 pseudo-terminal it controls."""

    def __init__(self, tmp_path: Path):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "PS1": "$ ", "PYTHONPATH": f"{TESTS.parent}:{TESTS}"}
        self.shell = subprocess.Popen(["bash", "--norc", "--noprofile", "-i"], stdin=slave, stdout=slave,
                                      stderr=slave, env=env, start_new_session=True,
                                      preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.master, self.output = master, bytearray()
        self.batches = tmp_path / "batches"
        (tmp_path / "app.py").write_text(APP)
        self.type(f"{sys.executable} {tmp_path / 'app.py'} {tmp_path / 'runs'} {self.batches}\n")

    def type(self, text: str | bytes) -> None:
        os.write(self.master, text.encode() if isinstance(text, str) else text)

    def read(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            os.set_blocking(self.master, False)
            try:
                self.output += os.read(self.master, 65536)
            except (BlockingIOError, OSError):
                time.sleep(0.02)

    def wait_for(self, since: int, text: bytes, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output[since:]:
            assert time.monotonic() < deadline, f"no {what} within {timeout} s: {bytes(self.output[since:])[-600:]}"
            self.read(0.1)

    def app_pid(self) -> int:
        children = Path(f"/proc/{self.shell.pid}/task/{self.shell.pid}/children").read_text().split()
        return int(children[0])

    def batches_done(self) -> int:
        return int(self.batches.read_text() or 0) if self.batches.exists() else 0

    def close(self) -> None:
        for pid in (self.app_pid, lambda: self.shell.pid):
            try:
                os.kill(pid(), signal.SIGKILL)
            except (OSError, IndexError, ValueError):
                pass
        self.shell.wait(timeout=10)
        os.close(self.master)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for job control")
def test_ctrl_z_and_sigtstp_then_bg_and_fg_in_every_order_redraw_and_training_goes_on(tmp_path):
    shell = ShellInPty(tmp_path)
    try:
        shell.wait_for(0, FULL_FRAME, "first frame")
        for stop, resume in ((b"\x1a", ["fg"]), ("SIGTSTP", ["bg", "fg"]), (b"\x1a", ["bg", "fg"]),
                             ("SIGTSTP", ["fg"])):
            since = len(shell.output)
            shell.type(stop) if isinstance(stop, bytes) else os.kill(shell.app_pid(), signal.SIGTSTP)
            shell.wait_for(since, b"Stopped", f"the shell's 'Stopped' after {stop!r}")
            assert ALT_SCREEN_OFF in shell.output[since:]  # the terminal was given back
            for command in resume:
                since, before = len(shell.output), shell.batches_done()
                shell.type(command + "\n")
                if command == "bg":
                    shell.read(1.5)
                    assert shell.batches_done() > before, "training stopped in the background"
                    assert ALT_SCREEN_ON not in shell.output[since:]  # nothing drawn over the shell
            shell.wait_for(since, ALT_SCREEN_ON, f"the app back after {resume}", timeout=10)
            shell.wait_for(since, FULL_FRAME, f"the whole screen redrawn after {resume}, no key pressed", 10)
        since = len(shell.output)
        shell.type(b"r")  # its keys work again: the Runs screen
        shell.wait_for(since, b"runs in", "the Runs screen after a key")
    finally:
        shell.close()


def test_a_stop_nobody_could_continue_is_refused():
    code = "from cifar_tui.app.job_control import job_control; print(job_control())"
    as_job = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, process_group=0)
    assert as_job.stdout.strip() == "True"  # a job: its own process group, in its shell's session
    leader = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, start_new_session=True)
    assert leader.stdout.strip() == "False"  # a session's leader: no shell could `fg` it
