"""Keep the app's input alive whatever bytes the terminal sends.

Textual 8.2.8 (the newest release, checked 2026-11-29) decodes stdin with a strict UTF-8 decoder, so a byte
that is not UTF-8 raises UnicodeDecodeError in its input thread, which dies: keys and mouse stop working and
the app can exit while the bytes land in the shell (textual#6456, #6668, open). A terminal rebuilt under a
running app (a tmux re-attach, an SSH reconnect) may fall back to X10 mouse reports, `ESC [ M b x y`, whose
three bytes are raw `value + 32`: past column 95 they are >= 0x80. We hand Textual a decoder that passes
X10 reports through as one character per byte (Textual's parser recognises and drops them) and drops any
other undecodable byte. End-of-file (a terminal that hung up reads as one, at once, again and again) is
raised as `EndOfInput`, which ends the input loop (app/job_control.py).
"""

from __future__ import annotations

import codecs

from cifar_tui.app.hangup import EndOfInput

X10_PREFIX = b"\x1b[M"


class TerminalInputDecoder(codecs.IncrementalDecoder):
    """UTF-8 that never raises: X10 mouse reports kept whole (latin-1), other invalid bytes dropped."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        self._pending = b""  # an X10 report cut by the end of a read

    def decode(self, data: bytes, final: bool = False) -> str:
        if not data and not final:  # the terminal was ready and gave nothing: end-of-file (app/hangup.py)
            raise EndOfInput
        data = self._pending + bytes(data)
        self._pending = b""
        out = []
        while (at := data.find(X10_PREFIX)) >= 0:
            out.append(self._utf8.decode(data[:at]))
            report = data[at + 3:at + 6]
            if len(report) < 3 and not final:
                self._pending = data[at:]
                data = b""
                break
            out.append("\x1b[M" + report.decode("latin-1"))
            data = data[at + 6:]
        out.append(self._utf8.decode(data, final))
        return "".join(out)

    def reset(self) -> None:
        self._utf8.reset()
        self._pending = b""


def _incremental_decoder(encoding: str):
    if codecs.lookup(encoding).name == "utf-8":
        return TerminalInputDecoder
    return codecs.getincrementaldecoder(encoding)


def guard_terminal_input() -> None:
    """Make Textual's Linux driver build its input decoder from `TerminalInputDecoder` (call before `run`)."""
    from textual.drivers import linux_driver

    linux_driver.getincrementaldecoder = _incremental_decoder
