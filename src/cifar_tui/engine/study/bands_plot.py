"""The study report's validation bands (matplotlib): one panel per condition; per strategy the mean over
seeds with its marker, the min-max band shaded (an error bar where there is one epoch), each seed faint;
one legend for every panel, with the seeds behind each strategy."""

from __future__ import annotations

import math
from pathlib import Path

from cifar_tui.engine.report.figures import (
    STRATEGY_COLORS,
    STRATEGY_MARKERS,
    accuracy_axis,
    epoch_axis,
    figure,
    save,
    title,
    wrap,
)
from cifar_tui.engine.study.bands import Band, band_conditions


def _draw_band(ax, band: Band) -> None:
    color, marker = STRATEGY_COLORS.get(band.strategy), STRATEGY_MARKERS.get(band.strategy, "o")
    for curve in band.per_seed.values():
        points = [(e, v) for e, v in zip(band.epochs, curve, strict=True) if v is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], color=color, alpha=0.3, linewidth=0.8,
                marker=".", markersize=3)  # a one-epoch seed is a dot, not an invisible segment
    if len(band.epochs) > 1:
        ax.fill_between(band.epochs, band.low, band.high, color=color, alpha=0.18, linewidth=0)
    else:  # one epoch: the min-max range as an error bar (fill_between of one x draws nothing)
        ax.errorbar(band.epochs, band.mean, yerr=[[m - lo for m, lo in zip(band.mean, band.low, strict=True)],
                                                  [hi - m for m, hi in zip(band.mean, band.high, strict=True)]],
                    color=color, capsize=5, linewidth=0, elinewidth=6, alpha=0.3)
    ax.plot(band.epochs, band.mean, color=color, linewidth=2, marker=marker,
            markersize=6 if len(band.epochs) <= 12 else 0, label=band.strategy)


def bands_figure(study_title: str, bands: list[Band]):
    """None without a band (nothing to show)."""
    conditions = band_conditions(bands)
    if not conditions:
        return None
    columns = min(3, len(conditions))
    rows = math.ceil(len(conditions) / columns)
    fig, axes = figure(4.4 * columns, 3.3 * rows + 1.0, dpi=110, nrows=rows, ncols=columns, squeeze=False,
                       sharey=True)
    last = max((e for b in bands for e in b.epochs), default=1)
    for ax, condition in zip(axes.flat, conditions, strict=False):
        for band in (b for b in bands if b.condition == condition):
            _draw_band(ax, band)
        name = " ".join(f"{k}={v}" for k, v in condition.items()) or "all cells"
        ax.set_title(wrap(fig, name, 9, share=0.9 / columns), fontsize=9)
        epoch_axis(ax, last)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(conditions):]:
        ax.axis("off")
    accuracy_axis(axes[0][0], "validation accuracy")
    seeds: dict[str, list[int]] = {}
    for band in bands:
        seeds.setdefault(band.strategy, []).append(max(band.n, default=0))
    handles = {h.get_label(): h for ax in axes.flat for h in ax.get_legend_handles_labels()[0]}
    spread_as = "min-max shaded" if last > 1 else "min-max as a bar"  # one epoch: no band to shade
    labels = [f"{name}: mean over seeds (n={_range(seeds[name])}), {spread_as}" for name in handles]
    fig.legend(list(handles.values()), labels, loc="outside lower center", ncols=min(2, len(labels)), fontsize=8,
               frameon=False)
    title(fig, f"{study_title}: validation curves over seeds (faint: each seed)", 10)
    return fig


def _range(counts: list[int]) -> str:
    return str(min(counts)) if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"


def plot_bands(title: str, bands: list[Band], path: Path) -> bool:
    """Writes `path` if there is any band; returns whether it did."""
    fig = bands_figure(title, bands)
    if fig is None:
        return False
    save(fig, path)
    return True
