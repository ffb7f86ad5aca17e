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
SETTLE_S = 0.05  # after a refresh: RichLog scrolls its deferred lines to the end, then this scroll wins


class LogPanel(RichLog):
    def __init__(self, **kwargs) -> None:
        super().__init__(wrap=True, markup=False, highlight=False, min_width=1, **kwargs)
        self.entries: list[Text] = []
        self._laid_out_at = 0
        self.anchor: str | None = None  # the line `show_line` keeps in view

    def add(self, level: str, message: str) -> None:
        line = Text(f"{level.upper()}: {message}", style=LEVEL_STYLES.get(level, ""))
        self.entries.append(line)
        if self.max_lines and len(self.entries) > self.max_lines:
            del self.entries[: len(self.entries) - self.max_lines]
        # follow new lines only from the end: one being read (scrolled up to, or opened at an explanation)
        # stays in view
        self.write(line, scroll_end=self.is_vertical_scroll_end)

    def show_line(self, starts: str) -> None:
        """Bring the first entry starting with `starts` to the panel's top, now and after the panel is laid
        out again (the notices' "why and how to fix" sits near the run's start: the panel opened at its end,
        where a resize, which writes every line again, also took it)."""
        self.anchor = starts
        self.call_after_refresh(self.scroll_to_line, starts)
        self.set_timer(SETTLE_S, lambda: self.scroll_to_line(starts))

    def scroll_to_line(self, starts: str) -> bool:
        """Scroll so that the first entry starting with `starts` is the panel's top line; False if none."""
        width = max(1, self.scrollable_content_region.width)
        offset = 0
        for entry in self.entries:
            if entry.plain.startswith(starts):
                self.scroll_to(y=offset, animate=False)
                return True
            offset += len(entry.wrap(self.app.console, width))
        return False

    def reset(self) -> None:
        self.entries, self.anchor = [], None
        self.clear()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_at and self.entries:
            self._laid_out_at = event.size.width
            self.clear()
            for line in self.entries[-(self.max_lines or len(self.entries)):]:
                self.write(line, scroll_end=self.anchor is None)
            if self.anchor is not None:
                self.show_line(self.anchor)
