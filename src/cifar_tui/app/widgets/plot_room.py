"""A terminal chart with no room to draw says so instead (issue #25 section 6: at 40x12 the curves came out
garbled, axis labels upside down, with no word of why)."""

from __future__ import annotations

from rich.text import Text
from textual_plotext import PlotextPlot

MIN_WIDTH, MIN_HEIGHT = 24, 7  # cells: plotext's axes, two ticks and a line of data need about this
APP_WIDTH, APP_HEIGHT = 60, 18  # below this the screens cut their panels (laid out for 80x24)


def too_small_for_app(width: int, height: int) -> str | None:
    """The warning the app shows once when the terminal is smaller than its screens need (None: it fits)."""
    if width >= APP_WIDTH and height >= APP_HEIGHT:
        return None
    return (f"terminal too small: {width}x{height}; cifar-tui is laid out for 80x24 or more (charts and tables "
            f"are cut below {APP_WIDTH}x{APP_HEIGHT})")


def too_small(widget) -> Text | None:
    """The message to show in place of `widget`'s chart, or None when the chart fits."""
    if widget.size.width >= MIN_WIDTH and widget.size.height >= MIN_HEIGHT:
        return None
    screen = widget.app.size
    return Text(f"terminal too small for this chart ({screen.width}x{screen.height}): enlarge it to 80x24 or "
                f"more", style="dim")


class RoomyPlot(PlotextPlot):
    """A PlotextPlot that says it is too small rather than draw a garbled chart."""

    def render(self):
        return too_small(self) or super().render()
