"""A study's results as series for a chart (matplotlib's and the terminal's): one per strategy and
combination of the non-x axes, each with its own colour and marker."""

from __future__ import annotations

from typing import Any

from cifar_tui.engine.study.record import StudyRecord
from cifar_tui.engine.study.stats import Condition


def chart_series(record: StudyRecord, conditions: list[Condition]) -> dict[str, list[tuple[Any, float, float, int]]]:
    """label -> [(x value, mean, std or 0, n)] in axis order; a label is a strategy (plus other axes)."""
    series: dict[str, list[tuple[Any, float, float, int]]] = {}
    for c in conditions:
        others = " ".join(f"{k}={v}" for k, v in c.key.items() if k != record.x)
        x = c.key.get(record.x, "all")
        for name, s in c.per_strategy.items():
            if s.mean is None:
                continue
            label = f"{name} {others}".strip()
            series.setdefault(label, []).append((x, s.mean, s.std or 0.0, s.n))
    return series


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")  # matplotlib markers, one per series
EXTRA_COLORS = ("#2ca02c", "#9467bd", "#8c564b", "#bcbd22", "#17becf", "#7f7f7f", "#d62728", "#e377c2")


def series_styles(labels: list[str], strategy_colors: dict[str, str], extra_colors: tuple[str, ...],
                  markers: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """label -> (colour, marker), each series its own: a strategy's first series keeps the strategy's
    colour, a second one ("finetune unfreeze=top3" after "finetune unfreeze=all") takes the next spare
    colour; markers go by series order, so series stay apart without colour (NO_COLOR, print)."""
    spare = [c for c in extra_colors if c not in strategy_colors.values()]
    used: set[str] = set()
    styles = {}
    for i, label in enumerate(labels):
        color = strategy_colors.get(label.split()[0]) if label else None
        if color is None or color in used:
            color = next((c for c in spare if c not in used), spare[i % len(spare)] if spare else "white")
        used.add(color)
        styles[label] = (color, markers[i % len(markers)])
    return styles


def n_label(points: list[tuple[Any, float, float, int]]) -> str:
    """Seeds behind a series' points: "n=3", or "n=1-3" when conditions have different counts so far."""
    low, high = min(p[3] for p in points), max(p[3] for p in points)
    return f"n={low}" if low == high else f"n={low}-{high}"
