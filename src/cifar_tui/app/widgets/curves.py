"""Accuracy and loss curves per epoch (train and validation, one colour per strategy), with plotext."""

from __future__ import annotations

import re
from functools import lru_cache

from rich.style import Style
from rich.text import Text
from textual_plotext import PlotextPlot

from cifar_tui.app.widgets.plot_room import too_small
from cifar_tui.engine.report.figures import drawn_over
from cifar_tui.engine.run.state import RunState
from cifar_tui.render.theme import STRATEGY_MARKERS, STRATEGY_PLOT_COLORS

_SGR = re.compile(r"\x1b\[([0-9;]*)m")


@lru_cache(maxsize=512)
def _apply_sgr(current: Style | None, params: str) -> Style | None:
    """The style after one SGR sequence (cached: plotext uses a handful of colours)."""
    if params in ("", "0"):
        return None
    change = Text.from_ansi(f"\x1b[{params}mx").spans[0].style
    return Style.combine([current, change]) if current else change


def ansi_to_text(ansi: str) -> Text:
    """`Text.from_ansi` for plotext's output, ~5x faster: plotext only emits SGR colour sequences, so a
    regex split and cached styles do what Rich's general ANSI decoder spends half the redraw on."""
    text = Text()
    style: Style | None = None
    position = 0
    for match in _SGR.finditer(ansi):
        if match.start() > position:
            text.append(ansi[position:match.start()], style)
        style = _apply_sgr(style, match.group(1))
        position = match.end()
    if position < len(ansi):
        text.append(ansi[position:], style)
    return text


def thin(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most `limit` evenly spaced points, always keeping the first and the last: beyond about one point
    per three columns a terminal plot shows little more, and plotext's cost grows with points."""
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def validation_points(state: RunState, key: str = "accuracy") -> dict[str, list[tuple[float, float]]]:
    return {name: [(h["epoch"], h[f"val_{key}"]) for h in s.history if h.get(f"val_{key}") is not None]
            for name, s in state.strategies.items()}


def draw_order(state: RunState, over: dict[str, str]) -> list[str]:
    """The strategies in their order, those whose points lie on another's last: drawn later, their markers
    show (frozen's never did under finetune's head epochs, drawn after it)."""
    return [n for n in state.strategies if n not in over] + [n for n in state.strategies if n in over]


class CurvesPlot(PlotextPlot):
    """Per-epoch points only (a few hundred at most), so a redraw stays cheap. The rendered plot is cached:
    Textual re-renders a widget whenever the screen around it is laid out again, and building a plotext
    canvas costs ~20 ms; it is rebuilt only after `draw` or a resize or theme change."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metric = "accuracy"  # or "loss"
        self._version = 0
        self._cached: tuple[tuple, object] | None = None

    def render(self):
        if (message := too_small(self)) is not None:
            return message
        key = (self._version, self.size.width, self.size.height, self.app.theme, self.theme)
        if self._cached is None or self._cached[0] != key:
            # What PlotextPlot.render does, with a faster ANSI decoder.
            plot = self.plt
            plot.plotsize(self.size.width, self.size.height)
            plot._set_size(self.size.width, self.size.height)
            plot.theme(self._get_plotext_theme_name(self.app.theme))
            self._cached = (key, ansi_to_text(plot.build()))
        return self._cached[1]

    def toggle_metric(self) -> str:
        self.metric = "loss" if self.metric == "accuracy" else "accuracy"
        return self.metric

    def _train_dots(self, s, key: str, limit: int) -> None:
        points = thin([(h["epoch"], h[key]) for h in s.history if h.get(key) is not None], limit)
        if points:
            self.plt.scatter([p[0] for p in points], [p[1] for p in points],
                             color=STRATEGY_PLOT_COLORS.get(s.name, "white"), marker="•")

    def _validation(self, state: RunState, name: str, key: str, limit: int) -> None:
        """The strategy's validation line, its own marker on each point (NO_COLOR), and where it unfroze."""
        s, plt, color = state.strategies[name], self.plt, STRATEGY_PLOT_COLORS.get(name, "white")
        points = thin([(h["epoch"], h[f"val_{key}"]) for h in s.history if h.get(f"val_{key}") is not None], limit)
        if points:
            marker = STRATEGY_MARKERS.get(name, "o")
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            over = drawn_over(validation_points(state, key)).get(name)
            said = f" (over {over})" if over else ""  # frozen = finetune's head epochs
            plt.plot(xs, ys, color=color, label=f"{marker} {name}{said}", marker="braille")
            plt.scatter(xs, ys, color=color, marker=marker)
        for phase, first in s.phase_starts:
            if phase == "finetune" and first > 1:
                plt.vline(first - 0.5, color=color)  # where fine-tuning begins

    def draw(self, state: RunState) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        key = self.metric
        title = "accuracy" if key == "accuracy" else "loss"
        plt.title(f"{title}: validation (lines), train (•)   t: accuracy/loss")
        plt.xlabel("epoch")
        limit = max(20, self.size.width // 3)
        order = draw_order(state, drawn_over(validation_points(state, key)))
        any_points = any(state.strategies[name].history for name in order)
        for name in order:  # training dots first: a validation marker in the same cell stays visible
            self._train_dots(state.strategies[name], key, limit)
        for name in order:
            self._validation(state, name, key, limit)
        if any_points:
            last = max(h["epoch"] for s in state.strategies.values() for h in s.history)
            plt.xticks(list(range(1, last + 1, max(1, last // 10))))
            if key == "accuracy":
                plt.ylim(0, 1)
        self._version += 1
        self.refresh()
