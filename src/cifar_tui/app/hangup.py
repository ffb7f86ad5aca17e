"""The terminal going away under the app (tmux kill-session, a dropped SSH link): stop as a SIGHUP asks.

Textual 8.2.8's Linux driver (the newest release, checked 2026-12-05) writes to the terminal from a thread
that the first failed write kills (EIO: a hung-up terminal). The app's next 30 frames fill that thread's
queue, and the 31st blocks the event loop for good: the run's end is never handled and the process sleeps
forever. Its input thread meanwhile reads end-of-file from the hung-up terminal again and again, spinning
a core; or, read at the moment the terminal's other end closes, gets EIO and dies, taking the app down
(exit 1). Here the output survives a dead terminal (writes are dropped), input ends at end-of-file or EIO,
and either one tells the app, which stops as on SIGHUP: the run stops at the end of its batch, is
recorded `interrupted`, and the process exits 129. SIGHUP usually comes too (the kernel sends it to a
terminal's session leader and foreground job); when it does not (a job in the background, a terminal that
is not the process's controlling one), this is what stops the app.
"""

from __future__ import annotations

import errno
import termios
import threading
from collections.abc import Callable
from typing import TextIO

from textual.message import Message


class TerminalGone(Message):
    """Posted to the app when its terminal has hung up (its writes fail, its input is at end-of-file)."""


class EndOfInput(Exception):
    """The terminal's input read as end-of-file: raised by the input decoder (app/input_guard.py)."""


GONE_ERRNOS = (errno.EIO, errno.ENXIO, errno.EBADF)  # hung up (or the master just closed), no device, closed


def hung_up(fd: int) -> bool:
    """Has the terminal on `fd` gone away? A hung-up terminal answers EIO to every request, a closed
    descriptor EBADF; a live one (after a read of end-of-file in canonical mode, say) answers."""
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError):
        return True
    return False


def terminal_lost(exc: OSError, fd: int) -> bool:
    """Does this failure of a read or write on the terminal mean it has gone for good? Not EAGAIN, say,
    from a descriptor another program made non-blocking."""
    return exc.errno in GONE_ERRNOS or hung_up(fd)


class TerminalOutput:
    """The terminal file that Textual's output thread writes to, made to outlive the terminal: a failed
    write or flush is dropped, never raised (which killed the thread); once the terminal has hung up,
    `on_gone` is called once and every later write is dropped."""

    def __init__(self, file: TextIO, on_gone: Callable[[], None]) -> None:
        self._file, self._on_gone = file, on_gone
        self._lock = threading.Lock()
        self.gone = False

    def write(self, text: str) -> None:
        if not self.gone:
            self._guarded(self._file.write, text)

    def flush(self) -> None:
        if not self.gone:
            self._guarded(self._file.flush)

    def fileno(self) -> int:
        return self._file.fileno()

    def _guarded(self, call, *args) -> None:
        try:
            call(*args)
        except (OSError, ValueError) as exc:  # EIO, EAGAIN; ValueError: the file was closed
            if isinstance(exc, ValueError) or terminal_lost(exc, self._file.fileno()):
                self.lost()

    def lost(self) -> None:
        """The terminal has gone for good: drop every later write and say so once (whatever thread noticed)."""
        with self._lock:
            if self.gone:
                return
            self.gone = True
        self._on_gone()
