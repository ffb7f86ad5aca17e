"""The log panel: every line wrapped at the panel's own width, re-wrapped when it is resized.

RichLog renders a line once, at max(min_width, width) with min_width 78 by default: in a panel narrower
than that (80 columns, compact layout) the end of a long line, often the fix in an error message, was cut
off. Here lines wrap at any width, and the panel keeps the lines so a resize lays them out again.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import RichLog

LEVEL_STYLES = {"warning": "bold yellow", "error": "bold red"}  # bold stays visible with NO_COLOR


class LogPanel(RichLog):
    def __init__(self, **kwargs) -> None:
        super().__init__(wrap=True, markup=False, highlight=False, min_width=1, **kwargs)
        self.entries: list[Text] = []
        self._laid_out_at = 0

    def add(self, level: str, message: str) -> None:
        line = Text(f"{level.upper()}: {message}", style=LEVEL_STYLES.get(level, ""))
        self.entries.append(line)
        if self.max_lines and len(self.entries) > self.max_lines:
            del self.entries[: len(self.entries) - self.max_lines]
        self.write(line)

    def reset(self) -> None:
        self.entries = []
        self.clear()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_at and self.entries:
            self._laid_out_at = event.size.width
            self.clear()
            for line in self.entries[-(self.max_lines or len(self.entries)):]:
                self.write(line)
