"""Published reference results as labelled horizontal lines on a plotext chart (the Studies screen's
results chart); which ones apply is decided by engine/study/references.py."""

from __future__ import annotations

from cifar_tui.engine.study.references import Reference


def draw_references(plt, references: list[Reference], positions: int) -> None:
    """A dotted gray line across x = 0.5 .. positions + 0.5 per reference, its label at the right end (the
    legend holds the top left)."""
    for reference in references:
        plt.plot([0.5, positions + 0.5], [reference.accuracy] * 2, color="gray", marker="·")
        plt.text(f"{reference.short or reference.label} ({reference.source})", positions + 0.45,
                 reference.accuracy, color="gray", alignment="right")
