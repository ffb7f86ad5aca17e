"""The analysis part of a run's report: per-class accuracy (and transfer's gain per class) and what
fine-tuning changed per backbone block. Figures with matplotlib, numbers in CSVs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from engine.analysis.per_class import per_class
from engine.export import STRATEGY_COLORS, _pyplot
from engine.state import RunState


def export_analysis(state: RunState, out_dir: Path) -> list[str]:
    """Writes what there is to write; returns the figure file names."""
    figures = []
    pc = per_class(state)
    if pc is not None:
        with open(out_dir / "per_class.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["class", "test_images", *[f"{n}_accuracy" for n in pc.accuracy],
                             *[p.replace(" ", "") for p in pc.gains],
                             *[f"{p.replace(' ', '')}_se_bound" for p in pc.gains]])
            for i, cls in enumerate(pc.class_names):
                writer.writerow([cls, pc.class_sizes[i], *[a[i] for a in pc.accuracy.values()],
                                 *[g[i] for g in pc.gains.values()], *[se[i] for se in pc.gain_se.values()]])
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(9, 4), dpi=120)
        x = np.arange(len(pc.class_names))
        width = 0.8 / len(pc.accuracy)
        for k, (name, values) in enumerate(pc.accuracy.items()):
            ax.bar(x + (k - (len(pc.accuracy) - 1) / 2) * width, [v or 0 for v in values], width, label=name,
                   color=STRATEGY_COLORS.get(name))
        ax.set_xticks(x, pc.class_names, rotation=30, ha="right", fontsize=8)
        ax.set(ylabel="test accuracy", ylim=(0, 1), title="Per-class test accuracy")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "per_class.png")
        plt.close(fig)
        figures.append("per_class.png")
    change = state.strategies["finetune"].backbone_change if "finetune" in state.strategies else None
    if change:
        with open(out_dir / "backbone_change.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["block", "relative_weight_change", "debiased_linear_cka"])
            for row in zip(change["blocks"], change["weight_change"], change["cka"], strict=True):
                writer.writerow(row)
        plt = _pyplot()
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
        blocks = change["blocks"]
        left.bar(blocks, [w or 0 for w in change["weight_change"]], color="#c2185b")
        left.set(ylabel="||W - W0|| / ||W0||", title="Relative weight change (trained variables)")
        cka = [c or 0 for c in change["cka"]]
        right.bar(blocks, cka, color="#1f9bcf")
        right.set(ylabel="debiased linear CKA", ylim=(min(0.0, *cka), 1.05),  # unbiased HSIC: can dip below 0
                  title="Debiased linear CKA, before vs after")
        for ax in (left, right):
            ax.tick_params(axis="x", rotation=45, labelsize=8)
        analysed = f"{change['weights']}\n" if change.get("weights") else ""  # which weights (issue #24)
        fig.suptitle(f"What fine-tuning changed: {analysed}vs {change['reference']}; {change['images']} test images",
                     fontsize=10)
        fig.tight_layout()
        fig.savefig(out_dir / "backbone_change.png")
        plt.close(fig)
        figures.append("backbone_change.png")
    return figures
