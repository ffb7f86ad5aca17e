"""What every report figure shares (matplotlib, Agg): the strategies' colours and markers, titles wrapped to
the figure, integer epoch axes, coincident series, and the layout check the tests run on each figure.

Issue #25 section 3: no clipped or overlapping text at any label length, every series visible (a series
drawn exactly under another is said so and drawn distinguishably), axes that fit the data (a curve at 1.0
stays inside the frame), nothing drawn when there is nothing to show.
"""

from __future__ import annotations

import textwrap
from itertools import combinations
from pathlib import Path

STRATEGY_COLORS = {"scratch": "#1f9bcf", "frozen": "#ff8700", "finetune": "#c2185b", "probe": "#2e7d32"}
# One marker per strategy: series stay apart in print and without colour, and a series drawn over another
# (frozen = finetune's head epochs) shows its own shape around the other's.
STRATEGY_MARKERS = {"scratch": "o", "frozen": "s", "finetune": "^", "probe": "D"}
ACCURACY_LIMITS = (-0.03, 1.03)  # a curve at 0 or at 1.0 stays inside the frame, not on it
ACCURACY_TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def figure(width: float, height: float, dpi: int = 120, **subplots):
    """(fig, axes) under the constrained layout engine: titles, legends outside the axes and colour bars get
    their room, where tight_layout let a long title run off the edge."""
    return pyplot().subplots(figsize=(width, height), dpi=dpi, layout="constrained", **subplots)


def save(fig, path: Path) -> None:
    fig.savefig(path)
    pyplot().close(fig)


def wrap(fig, text: str, fontsize: float, share: float = 0.96) -> str:
    """`text` wrapped into lines no wider than `share` of the figure at `fontsize` (measured, not guessed)."""
    renderer = fig.canvas.get_renderer()
    limit = fig.get_figwidth() * fig.dpi * share
    probe = fig.text(0, 0, "", fontsize=fontsize)
    try:
        chars = max(len(line) for line in text.splitlines() or [""])
        while chars > 8:
            wrapped = "\n".join(textwrap.fill(line, chars) for line in text.splitlines())
            probe.set_text(wrapped)
            if probe.get_window_extent(renderer).width <= limit:
                return wrapped
            chars -= max(1, chars // 20)
        return "\n".join(textwrap.fill(line, 8) for line in text.splitlines())
    finally:
        probe.remove()


def title(fig, text: str, fontsize: float = 12) -> None:
    """The figure's title, centred on the figure and wrapped to its width (an axes' title is centred on the
    axes, which a y label or a margin moves off the figure's centre: a wrapped line could still run off)."""
    fig.suptitle(wrap(fig, text, fontsize), fontsize=fontsize)


def accuracy_axis(ax, label: str = "accuracy") -> None:
    """0-1 accuracy with a margin: a point at 1.0 (a training curve that has fitted) is drawn inside."""
    ax.set_ylim(*ACCURACY_LIMITS)
    ax.set_yticks(ACCURACY_TICKS)
    ax.set_ylabel(label)


def epoch_axis(ax, last: int) -> None:
    """Whole epochs 1..last with half an epoch of room each side (one epoch gave an axis of 0.96-1.04)."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    last = max(1, int(last))
    ax.set_xlim(0.5, last + 0.5)  # MaxNLocator needs two integers in view to keep to integers: few epochs, listed
    ax.xaxis.set_major_locator(FixedLocator(range(1, last + 1)) if last <= 12 else MaxNLocator(integer=True))
    ax.set_xlabel("epoch")


def coincides(points: list[tuple[float, float]], other: list[tuple[float, float]]) -> bool:
    """Every point of `points` is also a point of `other` (same x, y within 1e-9): drawn under it."""
    there = {round(x, 9): y for x, y in other}
    return bool(points) and all(round(x, 9) in there and abs(there[round(x, 9)] - y) <= 1e-9 for x, y in points)


def drawn_over(series: dict[str, list[tuple[float, float]]]) -> dict[str, str]:
    """name -> the strategy whose points all of its points lie on, for the series that would vanish under
    another: finetune's head phase trains the same head on the same features as frozen, so frozen's curve is
    finetune's first epochs, point for point. Of two identical series only one is drawn over the other."""
    out: dict[str, str] = {}
    for name, points in series.items():
        for other, others in series.items():
            if other != name and out.get(other) != name and coincides(points, others):
                out[name] = other
                break
    return out


def texts(fig) -> list:
    """Every drawn, non-empty text artist of the figure: titles, labels, tick labels, legends, annotations.
    A tick outside its axis' view keeps a label object that is never drawn: left out."""
    from matplotlib.text import Text

    ticks, drawn = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in [*axis.majorTicks, *axis.minorTicks]:
                ticks |= {id(tick.label1), id(tick.label2)}
            if not (ax.axison and axis.get_visible()):  # axis("off"): no tick is drawn
                continue
            for tick in axis._update_ticks():  # the ticks matplotlib draws (in view)
                drawn |= {id(tick.label1), id(tick.label2)} if tick.get_visible() else set()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and (id(t) not in ticks or id(t) in drawn)]


def category_labels(ax, labels: list[str], fontsize: float = 8) -> None:
    """Category names under the x axis, level where they fit between ticks (a point smaller if that makes them
    fit), else upright: rotated at 30-45 degrees, long names ran into their neighbours."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    room = 0.9 * ax.get_position().width * fig.get_figwidth() * fig.dpi / max(1, len(labels))
    for size in (fontsize, fontsize - 1):
        ax.set_xticks(range(len(labels)), labels, fontsize=size)
        if max((t.get_window_extent(renderer).width for t in ax.get_xticklabels()), default=0) <= room:
            return
    ax.tick_params(axis="x", labelrotation=90)


def layout_problems(fig) -> list[str]:
    """Text that leaves the figure or overlaps other text, in words (empty: the layout is clean). Measured
    with the figure's renderer, after its layout engine ran (as when saved)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    boxes = [(t, t.get_window_extent(renderer)) for t in texts(fig)]
    problems = [f"clipped: {t.get_text()!r}" for t, box in boxes
                if box.x0 < frame.x0 - 1 or box.y0 < frame.y0 - 1 or box.x1 > frame.x1 + 1 or box.y1 > frame.y1 + 1]
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        if box_a.overlaps(box_b) and _overlap_area(box_a, box_b) > 1.0:
            problems.append(f"overlap: {a.get_text()!r} and {b.get_text()!r}")
    return problems


def _overlap_area(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(0.0, width) * max(0.0, height)


def spread(values: list[float], gap: float, low: float | None = None, high: float | None = None) -> list[float]:
    """Positions for labels of `values` (same order), at least `gap` apart and each as near its value as the
    others allow, within [low, high] where given (labels of close lines, one above the other)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [values[i] for i in order]
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + gap)
    if high is not None and placed and placed[-1] > high:
        placed[-1] = high
        for k in range(len(placed) - 2, -1, -1):
            placed[k] = min(placed[k], placed[k + 1] - gap)
    if low is not None and placed and placed[0] < low:
        placed = [p + low - placed[0] for p in placed]
    out = [0.0] * len(values)
    for k, i in enumerate(order):
        out[i] = placed[k]
    return out
