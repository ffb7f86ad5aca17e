"""Which classes transfer helps most: per-class test accuracy from the confusion matrices.

Per-class accuracy is the confusion matrix's diagonal over its row sums (the recall of each class). The
gain of a transfer strategy on a class is its per-class accuracy minus the scratch CNN's, in one run: it
carries the test sample's error of that class's n images (a few hundred at most: far larger than the
whole test set's). `gain_se` bounds it from the two accuracies alone, as the study statistics do without
per-image predictions (engine/analysis/paired_tests.py `bound_variance`): the two strategies disagree on
at most min(pa + pb, 2 - pa - pb) of the class's images, so SE <= sqrt((that - (pa - pb)^2) / n). A gain
beyond 1.96 such SEs is one this test set tells apart (per class, before any multiplicity correction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cifar_tui.engine.analysis.paired_tests import bound_variance
from cifar_tui.engine.run.state import RunState

Z95 = 1.96  # two-sided 95% normal quantile


@dataclass
class PerClass:
    class_names: list[str]
    accuracy: dict[str, list[float | None]]  # strategy -> per-class accuracy
    gains: dict[str, list[float | None]]  # "frozen - scratch", "finetune - scratch" -> per-class difference
    # the same keys: an upper bound of each gain's standard error
    gain_se: dict[str, list[float | None]] = field(default_factory=dict)
    class_sizes: list[int] = field(default_factory=list)  # test images per class

    def told_apart(self, pair: str, index: int) -> bool:
        """Is the gain on class `index` beyond 1.96 times its largest possible standard error?"""
        gain, se = self.gains[pair][index], self.gain_se.get(pair, [None] * (index + 1))[index]
        return gain is not None and se is not None and abs(gain) > Z95 * se

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
    sizes = [sum(row) for row in first]
    gains, gain_se = {}, {}
    if "scratch" in accuracy:
        for name in ("frozen", "finetune", "probe"):
            if name in accuracy:
                pairs = list(zip(accuracy[name], accuracy["scratch"], strict=True))
                gains[f"{name} - scratch"] = [None if a is None or b is None else a - b for a, b in pairs]
                gain_se[f"{name} - scratch"] = [None if a is None or b is None or not n else
                                                bound_variance(a, b, n) ** 0.5 for (a, b), n in zip(pairs, sizes,
                                                                                                   strict=True)]
    return PerClass(list(names), accuracy, gains, gain_se, sizes)
