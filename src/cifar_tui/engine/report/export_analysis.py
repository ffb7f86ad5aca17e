"""The analysis part of a run's report: per-class accuracy (and transfer's gain per class) and what
fine-tuning changed per backbone block. Figures with matplotlib, numbers in CSVs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from cifar_tui.engine.analysis.per_class import per_class_of_run
from cifar_tui.engine.report.figures import STRATEGY_COLORS, category_labels, figure, save, title
from cifar_tui.engine.run.state import RunState


def export_analysis(state: RunState, out_dir: Path, run_dir: Path | None = None) -> list[str]:
    """Writes what there is to write; returns the figure file names. With the run's folder `run_dir`, the
    per-class gains carry McNemar's exact p on each class's images, Holm-corrected over the classes."""
    figures = []
    pc = per_class_of_run(state, run_dir)
    if pc is not None:
        with open(out_dir / "per_class.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["class", "test_images", *[f"{n}_accuracy" for n in pc.accuracy],
                             *[p.replace(" ", "") for p in pc.gains],
                             *[f"{p.replace(' ', '')}_se_bound" for p in pc.gains],
                             *[f"{p.replace(' ', '')}_mcnemar_p_holm" for p in pc.gain_p]])
            for i, cls in enumerate(pc.class_names):
                writer.writerow([cls, pc.class_sizes[i], *[a[i] for a in pc.accuracy.values()],
                                 *[g[i] for g in pc.gains.values()], *[se[i] for se in pc.gain_se.values()],
                                 *[p[i] for p in pc.gain_p.values()]])
        save(per_class_figure(pc), out_dir / "per_class.png")
        figures.append("per_class.png")
    change = state.strategies["finetune"].backbone_change if "finetune" in state.strategies else None
    if change:
        with open(out_dir / "backbone_change.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["block", "relative_weight_change", "debiased_linear_cka"])
            for row in zip(change["blocks"], change["weight_change"], change["cka"], strict=True):
                writer.writerow(row)
        save(backbone_change_figure(change), out_dir / "backbone_change.png")
        figures.append("backbone_change.png")
    return figures


def per_class_figure(pc):
    """Grouped bars, one group per class; the legend under the axes, where it covers no bar."""
    fig, ax = figure(max(9, 0.35 * len(pc.class_names) * len(pc.accuracy)), 4.6)
    x = np.arange(len(pc.class_names))
    width = 0.8 / len(pc.accuracy)
    for k, (name, values) in enumerate(pc.accuracy.items()):
        ax.bar(x + (k - (len(pc.accuracy) - 1) / 2) * width, [v or 0 for v in values], width, label=name,
               color=STRATEGY_COLORS.get(name))
    category_labels(ax, pc.class_names)
    ax.set_ylim(0, 1.03)  # a class at 100% keeps its top inside the frame
    ax.set_ylabel("test accuracy")
    title(fig, "Per-class test accuracy")
    fig.legend(loc="outside lower center", ncols=len(pc.accuracy), fontsize=8, frameon=False)
    return fig


def backbone_change_figure(change: dict):
    fig, (left, right) = figure(10, 4.4, ncols=2)
    blocks = change["blocks"]
    left.bar(blocks, [w or 0 for w in change["weight_change"]], color=STRATEGY_COLORS["finetune"])
    left.set(ylabel="||W - W0|| / ||W0||", title="Relative weight change\n(trained parameters)")
    cka = [c or 0 for c in change["cka"]]
    right.bar(blocks, cka, color=STRATEGY_COLORS["scratch"])
    right.set(ylabel="debiased linear CKA", ylim=(min(0.0, *cka), 1.05),  # unbiased HSIC: can dip below 0
              title="Debiased linear CKA,\nbefore vs after")
    for ax in (left, right):
        category_labels(ax, blocks)
    analysed = f"{change['weights']}, " if change.get("weights") else ""  # which weights (issue #24)
    title(fig, f"What fine-tuning changed ({analysed}vs {change['reference']}; {change['images']} test images)", 10)
    return fig
