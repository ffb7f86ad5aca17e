"""Output that works in any encoding: an ASCII-only locale (`PYTHONIOENCODING=ascii`, a C locale without
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


# Terminals that cannot move the cursor or redraw a screen (Rich treats the same two as "dumb").
DUMB_TERMS = ("dumb", "unknown")


def can_redraw(stream) -> bool:
    """A terminal that can draw progress bars and the app: a TTY whose TERM is not dumb."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM", "") not in DUMB_TERMS
