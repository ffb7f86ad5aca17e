"""Standard streams that always exist, and output that works in any encoding.

A command started with a closed stdin, stdout or stderr (`<&-`, `>&-`, a daemon, a cron job) gets /dev/null
there instead (`ensure_standard_streams`): Python leaves `sys.stdin` None, which every `isatty()` check
tripped on, and the first file the command opens would take descriptor 0, 1 or 2, which child processes
inherit as their own standard streams (and a lock held through it would outlive the command).

An ASCII-only locale (`PYTHONIOENCODING=ascii`, a C locale without
UTF-8 coercion) must not crash a command on Rich's "…" or a "±".

Rich already draws ASCII boxes and bars when the stream cannot encode its box characters; what is left
(ellipses of truncated cells, ±, Δ, arrows, block bars) goes through an error handler that writes a
readable ASCII stand-in instead of raising UnicodeEncodeError.
"""

from __future__ import annotations

import codecs
import os
import sys

ERRORS = "cifar_tui_ascii"
STAND_INS = {"…": "...", "±": "+/-", "Δ": "d", "⚠": "!", "●": "*", "•": "*", "×": "x", "→": "->", "—": "-",
             "–": "-", "≥": ">=", "≤": "<=", "│": "|", "─": "-", "µ": "u", "°": " deg"}
BLOCKS = "▏▎▍▌▋▊▉█"  # the bars of `runs show`'s per-block change


def stand_in(char: str) -> str:
    if char in BLOCKS:
        return "#"
    return STAND_INS.get(char, "?")


def _replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "".join(stand_in(c) for c in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(ERRORS, _replace)


def make_output_safe(streams=None) -> None:
    """Give stdout and stderr the ASCII stand-ins when their encoding cannot write what we print."""
    for stream in streams or (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "…±Δ█".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors=ERRORS)


STANDARD = ((0, os.O_RDONLY, "stdin", "r"), (1, os.O_WRONLY, "stdout", "w"), (2, os.O_WRONLY, "stderr", "w"))


def ensure_standard_streams() -> None:
    """Descriptors 0, 1 and 2 open (on /dev/null where they were closed) and `sys.stdin`, `sys.stdout` and
    `sys.stderr` set: a closed stdin then reads as an empty one (no terminal; a prompt's answer is "no")."""
    for fd, flags, name, mode in STANDARD:
        try:
            os.fstat(fd)
        except OSError:  # closed: the lowest free descriptor is this one, so it lands in place
            null = os.open(os.devnull, flags)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))


def isatty(stream) -> bool:
    """`stream.isatty()`, False for a missing stream (None) or one without the method."""
    method = getattr(stream, "isatty", None)
    return bool(method is not None and method())


# Terminals that cannot move the cursor or redraw a screen (Rich treats the same two as "dumb").
DUMB_TERMS = ("dumb", "unknown")


def can_redraw(stream) -> bool:
    """A terminal that can draw progress bars and the app: a TTY whose TERM is not dumb."""
    return isatty(stream) and os.environ.get("TERM", "") not in DUMB_TERMS
