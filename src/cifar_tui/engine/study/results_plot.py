"""A study's results chart (results.png): test accuracy against the study's x axis, one line per strategy
(and per other non-seed axis), mean over seeds with error bars of one standard deviation, n in the legend;
published results as dotted lines named in the right margin, their labels kept apart."""

from __future__ import annotations

from pathlib import Path

from cifar_tui.engine.report.figures import (
    ACCURACY_LIMITS,
    ACCURACY_TICKS,
    STRATEGY_COLORS,
    category_labels,
    figure,
    save,
    spread,
    title,
)
from cifar_tui.engine.study.record import StudyRecord
from cifar_tui.engine.study.references import Reference, legend
from cifar_tui.engine.study.series import EXTRA_COLORS, MARKERS, chart_series, n_label, series_styles
from cifar_tui.engine.study.stats import Condition

REFERENCE_FONT = 7  # points


def study_figure(record: StudyRecord, conditions: list[Condition], references: list[Reference] = ()):
    """None while no condition has a result (an empty chart says nothing)."""
    series = chart_series(record, conditions)
    if not series:
        return None
    fig, ax = figure(8.5, 5.6)
    axis_values = record.axes.get(record.x, ["all"])
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis_values)
    styles = series_styles(list(series), STRATEGY_COLORS, EXTRA_COLORS, MARKERS)
    for label, points in series.items():
        xs = [p[0] if numeric else axis_values.index(p[0]) for p in points]
        color, marker = styles[label]
        ax.errorbar(xs, [p[1] for p in points], yerr=[p[2] for p in points], marker=marker, capsize=4,
                    label=f"{label} ({n_label(points)})", color=color)
    if numeric and min(axis_values) > 0 and max(axis_values) / min(axis_values) >= 50:
        ax.set_xscale("log")
    if not numeric:
        category_labels(ax, [str(v) for v in axis_values], 9)
        ax.set_xlim(-0.5, len(axis_values) - 0.5)
    top = max(ACCURACY_LIMITS[1], *(p[1] + p[2] + 0.02 for points in series.values() for p in points))
    ax.set_ylim(ACCURACY_LIMITS[0], top)  # an error bar reaching past 1.0 is drawn whole
    ax.set_yticks(ACCURACY_TICKS)
    ax.set(xlabel=record.x, ylabel="test accuracy")
    title(fig, f"{record.title}\n(mean ± 1 std over seeds)")
    ax.grid(alpha=0.3)
    draw_reference_lines(ax, list(references))  # published results: CIFAR-10 with ImageNet weights only
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def draw_reference_lines(ax, references: list[Reference]) -> None:
    """A dotted line per published result across the axes, its name and figure in the right margin; labels
    that would overlap (98.1% and 94.0% are a label's height apart) are moved apart, never onto each other."""
    if not references:
        return
    fig = ax.figure
    low, high = ax.get_ylim()
    axes_px = ax.get_position().height * fig.get_figheight() * fig.dpi * 0.8  # the layout shrinks it somewhat
    gap = 1.5 * REFERENCE_FONT * fig.dpi / 72 / axes_px * (high - low)  # one label's height, in accuracy
    positions = spread([r.accuracy for r in references], gap, low, high)
    for reference, y in zip(references, positions, strict=True):
        ax.axhline(reference.accuracy, color="gray", linestyle=":", linewidth=1)
        ax.annotate(legend(reference),
                    xy=(1, reference.accuracy), xycoords=("axes fraction", "data"), xytext=(1.02, y),
                    textcoords=("axes fraction", "data"), fontsize=REFERENCE_FONT, color="dimgray", va="center",
                    arrowprops={"arrowstyle": "-", "color": "lightgray", "linewidth": 0.6})


def plot_study(record: StudyRecord, conditions: list[Condition], path: Path, references: list = ()) -> bool:
    """Writes `path` when there is a result to draw; returns whether it did."""
    fig = study_figure(record, conditions, references)
    if fig is None:
        return False
    save(fig, path)
    return True
