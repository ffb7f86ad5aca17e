"""Start the app on a real terminal, or fall back to a headless run when there is none.

TensorFlow writes to file descriptor 2 below Python; Textual draws on `sys.__stderr__`. For the app's
lifetime fd 2 goes to a log file and Textual gets a duplicate of the terminal (see engine.native_stderr).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from engine.config import ExperimentConfig
from engine.native_stderr import native_stderr_to


def native_log_path() -> Path:
    folder = Path(tempfile.gettempdir()) / f"cifar-tui-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"tensorflow-{os.getpid()}.log"


def launch_app(runs_dir: Path, start: ExperimentConfig | None = None, watch: str | None = None) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        if start is None:
            print("cifar-tui: error: the app needs a terminal; for batch jobs use `cifar-tui run`", file=sys.stderr)
            return 2
        print("cifar-tui: not a terminal: running the study headless (plain lines)", flush=True)
        from tui.cli import main

        main(["run", "--preset", start.preset, "--runs-dir", str(runs_dir), "--dataset", start.dataset,
              "--weights", start.weights, "--plain"] + (["--data-dir", start.data_dir] if start.data_dir else [])
             + (["--offline-fallback"] if start.allow_fallback else []))
        return 0

    from tui.app import CifarTuiApp
    from tui.input_guard import guard_terminal_input

    guard_terminal_input()
    log = native_log_path()
    with native_stderr_to(log):
        app = CifarTuiApp(runs_dir, start=start, native_log=log, watch=watch)
        app.install_signal_handlers()  # before anything else can take time (TensorFlow loads in a worker)
        app.run()
    return app.return_code or 0
