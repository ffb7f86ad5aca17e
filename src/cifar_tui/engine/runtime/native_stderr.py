"""Keep TensorFlow's C++ log lines off the user's terminal.

`import tensorflow` and later ops (oneDNN notices, tf.data rendezvous warnings) write straight to file
descriptor 2, below Python, whatever `TF_CPP_MIN_LOG_LEVEL` says. We point fd 2 at a log file for the
duration of a run and give Python's `sys.stderr` (and `sys.__stderr__`, which Textual draws on) a
duplicate of the original terminal, so our own messages and the app still reach the user.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

# Fewer C++ INFO lines in the log; must be set before the first TensorFlow import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def native_stderr_to(log_path: Path | str) -> Iterator[None]:
    try:
        sys.__stderr__.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no real fd 2 (some test runners): nothing to do
        yield
        return
    log = open(log_path, "ab", buffering=0)
    old_stderr, old_dunder = sys.stderr, sys.__stderr__
    terminal = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    try:
        os.dup2(log.fileno(), 2)
        sys.stderr = terminal if old_stderr is old_dunder else old_stderr
        sys.__stderr__ = terminal
        yield
    finally:
        for stream in (sys.stderr, terminal):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr, sys.__stderr__ = old_stderr, old_dunder
        with contextlib.suppress(OSError):  # a terminal that hung up (EIO): its last bytes go nowhere
            terminal.close()
        log.close()
