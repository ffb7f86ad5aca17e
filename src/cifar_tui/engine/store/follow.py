"""Follow a run's events file while another process writes it (attach / `cifar-tui watch`).

Reads only complete lines: a line still being written (no newline yet) waits for the next poll, so a
reader never parses half an event. Unreadable complete lines are counted and skipped.
"""

from __future__ import annotations

from pathlib import Path

from cifar_tui.engine.run.events import Event, EventFormatError, event_from_json


class EventFollower:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.skipped = 0
        self._partial = b""

    def poll(self) -> list[Event]:
        """Events appended since the last poll (none if the file does not exist yet)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        events = []
        for line in lines:
            if not line.strip():
                continue
            try:
                events.append(event_from_json(line.decode("utf-8")))
            except (UnicodeDecodeError, EventFormatError):
                self.skipped += 1
        return events
