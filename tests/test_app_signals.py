"""Signals and stray input reaching the real app in a pseudo-terminal: SIGTERM / SIGHUP stop training at the
next batch, the run is recorded `interrupted` with the signal named, the terminal is restored and the exit code
is 128 + signal; raw X10 mouse reports (bytes >= 0x80) do not kill the app's input."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest

from cifar_tui.app.input_guard import TerminalInputDecoder

ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
MOUSE_OFF, CURSOR_SHOWN = b"\x1b[?1000l", b"\x1b[?25h"
X10_REPORTS = b"\x1b[M" + bytes([0x23, 0xC8, 0x30]) + b"\x1b[M" + bytes([0x20, 0xF7, 0x35])  # columns 168, 215


class AppInPty:
    """`cifar-tui --preset quick` on a 110x30 pseudo-terminal, its output collected in a thread."""

    def __init__(self, tmp_path):
        self.runs = tmp_path / "runs"
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
        env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras"), "TERM": "xterm-256color"}
        code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, "--preset", "quick", "--dataset", "digits", "--weights", "none",
             "--runs-dir", str(self.runs)], stdin=slave, stdout=slave, stderr=slave, env=env,
            start_new_session=True)
        os.close(slave)
        self.master, self.output = master, bytearray()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.output += chunk

    def wait_for(self, condition, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"the app exited ({self.process.returncode}) before {what}"
            assert time.monotonic() < deadline, f"no {what} within {timeout} s"
            time.sleep(0.05)

    def events(self) -> list[dict]:
        files = list(self.runs.glob("*/events.jsonl"))
        return [json.loads(line) for line in files[0].read_text().splitlines()] if files else []

    def finish(self, timeout: float = 120) -> tuple[int, bytes, dict]:
        code = self.process.wait(timeout=timeout)
        time.sleep(0.3)  # the reader drains the last bytes
        os.close(self.master)
        (summary,) = self.runs.glob("*/summary.json")
        return code, bytes(self.output), json.loads(summary.read_text())


def assert_terminal_restored(output: bytes, since: int) -> None:
    tail = output[since:]
    assert ALT_SCREEN_OFF in tail and MOUSE_OFF in tail and CURSOR_SHOWN in tail, tail[-400:]


@pytest.mark.slow
def test_sigterm_while_training_stops_records_and_restores_the_terminal(tmp_path):
    app = AppInPty(tmp_path)
    try:
        app.wait_for(lambda: any(e["type"] == "epoch_end" for e in app.events()), "a finished epoch")
        since = len(app.output)
        app.process.send_signal(signal.SIGTERM)
        code, output, summary = app.finish()
    finally:
        if app.process.poll() is None:
            app.process.kill()
    assert code == 143
    assert summary["status"] == "interrupted" and summary["error"] == "stopped by SIGTERM"
    assert summary["strategies"]["scratch"]["status"] == "cancelled"
    assert_terminal_restored(output, since)


@pytest.mark.slow
def test_x10_mouse_reports_then_sighup_while_tensorflow_loads(tmp_path):
    app = AppInPty(tmp_path)
    try:
        app.wait_for(lambda: ALT_SCREEN_ON in app.output, "the app's first frame")
        os.write(app.master, X10_REPORTS)  # what a terminal sends after a tmux re-attach
        time.sleep(0.5)
        since = len(app.output)
        os.write(app.master, b"\x11")  # ctrl+q: the keyboard still works, so the app asks before quitting
        app.wait_for(lambda: b"Keep running" in app.output[since:], "the quit question after X10 reports", 30)
        os.write(app.master, b"n")  # keep running
        since = len(app.output)
        app.process.send_signal(signal.SIGHUP)
        code, output, summary = app.finish()
    finally:
        if app.process.poll() is None:
            app.process.kill()
    assert code == 129
    assert summary["status"] == "interrupted" and summary["error"] == "stopped by SIGHUP"
    assert not any(e["type"] == "epoch_end" for e in app.events())  # stopped before training began
    assert_terminal_restored(output, since)


def test_input_decoder_never_raises_and_keeps_x10_reports_whole():
    decoder = TerminalInputDecoder()
    text = decoder.decode(b"ab" + X10_REPORTS[:4]) + decoder.decode(X10_REPORTS[4:] + b"\xff\xfe\xc3\xa9z")
    assert text == "ab\x1b[M#\xc80\x1b[M \xf75\u00e9z"  # reports one char per byte; 0xff 0xfe dropped
    assert decoder.decode(b"\xe2\x82", final=False) + decoder.decode(b"\xac") == "\u20ac"  # split UTF-8 still joins
