"""How every view writes a duration: the app, `runs list` / `show` / `compare`, the headless progress lines
and the exported report. One rule (whole seconds, truncated) so a run's time reads the same everywhere."""

from __future__ import annotations


def duration(seconds: float | None) -> str:
    """Seconds -> "0m10s" (10.56 s: truncated, not rounded) or "1h02m" from an hour; "-" for None."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
