"""Which classes transfer helps most: per-class test accuracy from the confusion matrices.

Per-class accuracy is the confusion matrix's diagonal over its row sums (the recall of each class). The
gain of a transfer strategy on a class is its per-class accuracy minus the scratch CNN's.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.state import RunState


@dataclass
class PerClass:
    class_names: list[str]
    accuracy: dict[str, list[float | None]]  # strategy -> per-class accuracy
    gains: dict[str, list[float | None]]  # "frozen - scratch", "finetune - scratch" -> per-class difference

    def best_gains(self, pair: str, k: int = 3) -> list[tuple[str, float]]:
        values = [(c, g) for c, g in zip(self.class_names, self.gains.get(pair, []), strict=False) if g is not None]
        return sorted(values, key=lambda cg: -cg[1])[:k]


def class_accuracy(matrix: list[list[int]]) -> list[float | None]:
    return [row[i] / sum(row) if sum(row) else None for i, row in enumerate(matrix)]


def per_class(state: RunState) -> PerClass | None:
    """None until at least one strategy has been evaluated."""
    matrices = {n: s.confusion_matrix for n, s in state.strategies.items() if s.confusion_matrix}
    if not matrices:
        return None
    first = next(iter(matrices.values()))
    names = state.dataset.get("class_names") or [str(i) for i in range(len(first))]
    accuracy = {n: class_accuracy(m) for n, m in matrices.items()}
    gains = {}
    if "scratch" in accuracy:
        for name in ("frozen", "finetune", "probe"):
            if name in accuracy:
                gains[f"{name} - scratch"] = [None if a is None or b is None else a - b
                                              for a, b in zip(accuracy[name], accuracy["scratch"], strict=True)]
    return PerClass(list(names), accuracy, gains)
