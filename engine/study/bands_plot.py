"""The study report's validation bands (one panel per condition: per strategy the mean over seeds, the
min-max band shaded, each seed faint, n in the legend) and the published reference lines (matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path

from engine.export import STRATEGY_COLORS, _pyplot
from engine.study.bands import Band
from engine.study.references import Reference, legend


def draw_reference_lines(ax, references: list[Reference]) -> None:
    """Labelled horizontal lines, source in the label."""
    for reference in references:
        ax.axhline(reference.accuracy, color="gray", linestyle=":", linewidth=1)
        ax.annotate(legend(reference), (0.01, reference.accuracy), xycoords=("axes fraction", "data"),
                    fontsize=7, color="dimgray", va="bottom")


def plot_bands(title: str, bands: list[Band], path: Path) -> bool:
    """Writes `path` if there is any band; returns whether it did."""
    conditions: list[dict] = []
    for band in bands:
        if band.condition not in conditions:
            conditions.append(band.condition)
    if not conditions:
        return False
    plt = _pyplot()
    columns = min(3, len(conditions))
    rows = math.ceil(len(conditions) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), dpi=110, squeeze=False,
                             sharey=True)
    for ax, condition in zip(axes.flat, conditions, strict=False):
        for band in (b for b in bands if b.condition == condition):
            color = STRATEGY_COLORS.get(band.strategy)
            for curve in band.per_seed.values():
                points = [(e, v) for e, v in zip(band.epochs, curve, strict=True) if v is not None]
                ax.plot([p[0] for p in points], [p[1] for p in points], color=color, alpha=0.25, linewidth=0.8)
            ax.fill_between(band.epochs, band.low, band.high, color=color, alpha=0.18, linewidth=0)
            ax.plot(band.epochs, band.mean, color=color, linewidth=2,
                    label=f"{band.strategy} mean, min-max (n={max(band.n, default=0)})")
        ax.set_title(" ".join(f"{k}={v}" for k, v in condition.items()) or "all cells", fontsize=9)
        ax.set(xlabel="epoch", ylim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(conditions):]:
        ax.axis("off")
    axes[0][0].set_ylabel("validation accuracy")
    fig.suptitle(f"{title}: validation curves over seeds (faint: each seed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
