"""Start the app on a real terminal, or fall back to a headless run when there is none.

TensorFlow writes to file descriptor 2 below Python; Textual draws on `sys.__stderr__`. For the app's
lifetime fd 2 goes to a log file and Textual gets a duplicate of the terminal (see
engine/runtime/native_stderr.py).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.runtime.native_stderr import native_stderr_to
from cifar_tui.render.terminal import can_redraw, isatty


def native_log_path() -> Path:
    folder = Path(tempfile.gettempdir()) / f"cifar-tui-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"tensorflow-{os.getpid()}.log"


def why_no_app() -> str | None:
    """Why the app cannot be drawn here (None when it can): no terminal, or one that cannot address the screen."""
    if not (isatty(sys.stdin) and isatty(sys.stdout)):  # either may be missing (closed) or a file or a pipe
        return "not a terminal"
    if not can_redraw(sys.stdout):
        return f"this terminal (TERM={os.environ.get('TERM', '')}) cannot draw the app"
    return None


def launch_app(runs_dir: Path, start: ExperimentConfig | None = None, watch: str | None = None) -> int:
    problem = why_no_app()
    if problem is not None:
        if start is None:
            hint = f"see `cifar-tui runs show {watch}`" if watch else "for batch jobs use `cifar-tui run`"
            print(f"cifar-tui: error: {problem}; {hint}", file=sys.stderr)
            return 2
        print(f"cifar-tui: {problem}: running the run headless (plain lines)", flush=True)
        from cifar_tui.cli.headless import run_headless

        run_headless(start, runs_dir, plain=True, json_out=False)  # the whole config, every option kept
        return 0

    from cifar_tui.app.app import CifarTuiApp
    from cifar_tui.app.input_guard import guard_terminal_input

    guard_terminal_input()
    log = native_log_path()
    with native_stderr_to(log):
        app = CifarTuiApp(runs_dir, start=start, native_log=log, watch=watch)
        app.install_signal_handlers()  # before anything else can take time (TensorFlow loads in a worker)
        app.run()
    try:
        for line in closing_lines(app.live_state, runs_dir):
            print(line, flush=True)
    except OSError:  # the terminal hung up (app/hangup.py): nobody to tell, and no traceback (was exit 1)
        devnull = os.open(os.devnull, os.O_WRONLY)  # nor a failed flush at exit (Python's status 120)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return app.return_code or 0


def closing_lines(state, runs_dir: Path | str = "runs") -> list[str]:
    """What the shell shows once the app has gone: this session's last run, when it was left stopped (quit
    mid-run, or cancelled earlier), and how to continue it, as the headless `run` says."""
    from cifar_tui.engine.store.paths import resume_command

    if not state.run_id or state.started is None or state.status not in ("cancelled", "interrupted"):
        return []
    return [f"cifar-tui: run {state.run_id} {state.status}",
            f"continue it with: {resume_command(state.run_id, runs_dir)}"]
