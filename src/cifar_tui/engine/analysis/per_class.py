"""Which classes transfer helps most: per-class test accuracy from the confusion matrices.

Per-class accuracy is the confusion matrix's diagonal over its row sums (the recall of each class). The
gain of a transfer strategy on a class is its per-class accuracy minus the scratch CNN's, in one run: it
carries the test sample's error of that class's n images (a few hundred at most: far larger than the
whole test set's).

Whether a class's gain is one this test set tells apart:
- with both strategies' per-image predictions on file (`sample`): **McNemar's exact test** on that class's
  images (engine/analysis/paired_tests.py `mcnemar`), Holm-corrected over the classes of each comparison
  (engine/analysis/multiplicity.py): exact at any n, where a normal approximation at a few images per
  class is not;
- without them (runs recorded before per-image predictions): `gain_se` bounds the standard error from the
  two accuracies alone (`bound_variance`): the two strategies disagree on at most min(pa + pb, 2 - pa - pb)
  of the class's images, so SE <= sqrt((that - (pa - pb)^2) / n), and a gain beyond 1.96 such SEs counts,
  before any multiplicity correction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cifar_tui.engine.analysis.paired_tests import bound_variance
from cifar_tui.engine.run.state import RunState

Z95 = 1.96  # two-sided 95% normal quantile
ALPHA = 0.05
PAIRED = "McNemar exact per class, Holm over the classes"
BOUNDED = "beyond 1.96 x its largest possible standard error (no per-image predictions)"


@dataclass
class PerClass:
    class_names: list[str]
    accuracy: dict[str, list[float | None]]  # strategy -> per-class accuracy
    gains: dict[str, list[float | None]]  # "frozen - scratch", "finetune - scratch" -> per-class difference
    # the same keys: an upper bound of each gain's standard error
    gain_se: dict[str, list[float | None]] = field(default_factory=dict)
    class_sizes: list[int] = field(default_factory=list)  # test images per class
    # the same keys, where both sides have per-image predictions: Holm-adjusted McNemar exact p per class
    gain_p: dict[str, list[float | None]] = field(default_factory=dict)

    def told_apart(self, pair: str, index: int) -> bool:
        """Is the gain on class `index` one this test set tells apart: Holm-adjusted McNemar p < 0.05 where
        the per-image predictions are on file, else beyond 1.96 times its largest possible standard error?"""
        if pair in self.gain_p:
            p = self.gain_p[pair][index]
            return p is not None and p < ALPHA
        gain, se = self.gains[pair][index], self.gain_se.get(pair, [None] * (index + 1))[index]
        return gain is not None and se is not None and abs(gain) > Z95 * se

    def test_used(self) -> str:
        """The test behind `told_apart`, in words: PAIRED, BOUNDED, or both (some comparisons lack predictions)."""
        kinds = {PAIRED if pair in self.gain_p else BOUNDED for pair in self.gains}
        return "; ".join(sorted(kinds, reverse=True))

    def best_gains(self, pair: str, k: int = 3) -> list[tuple[str, float]]:
        values = [(c, g) for c, g in zip(self.class_names, self.gains.get(pair, []), strict=False) if g is not None]
        return sorted(values, key=lambda cg: -cg[1])[:k]


def class_accuracy(matrix: list[list[int]]) -> list[float | None]:
    return [row[i] / sum(row) if sum(row) else None for i, row in enumerate(matrix)]


def per_class(state: RunState, sample=None) -> PerClass | None:
    """None until at least one strategy has been evaluated. `sample`: the run's per-image results
    (engine/store/correctness.py `read_test_sample`), for the exact per-class tests; None: the bound."""
    matrices = {n: s.confusion_matrix for n, s in state.strategies.items() if s.confusion_matrix}
    if not matrices:
        return None
    first = next(iter(matrices.values()))
    names = state.dataset.get("class_names") or [str(i) for i in range(len(first))]
    accuracy = {n: class_accuracy(m) for n, m in matrices.items()}
    sizes = [sum(row) for row in first]
    gains, gain_se, gain_p = {}, {}, {}
    if "scratch" in accuracy:
        for name in ("frozen", "finetune", "probe"):
            if name in accuracy:
                pair = f"{name} - scratch"
                pairs = list(zip(accuracy[name], accuracy["scratch"], strict=True))
                gains[pair] = [None if a is None or b is None else a - b for a, b in pairs]
                gain_se[pair] = [None if a is None or b is None or not n else bound_variance(a, b, n) ** 0.5
                                 for (a, b), n in zip(pairs, sizes, strict=True)]
                if (p := class_tests(sample, name, "scratch", len(first))) is not None:
                    gain_p[pair] = p
    return PerClass(list(names), accuracy, gains, gain_se, sizes, gain_p)


def class_tests(sample, a: str, b: str, classes: int) -> list[float | None] | None:
    """Holm-adjusted McNemar exact p of a vs b on each class's test images (None for a class with none);
    None when either side has no per-image results in `sample`."""
    if sample is None or sample.labels is None or a not in sample.correct or b not in sample.correct:
        return None
    from cifar_tui.engine.analysis.multiplicity import holm
    from cifar_tui.engine.analysis.paired_tests import mcnemar

    labels = np.asarray(sample.labels)
    raw = [mcnemar(sample.correct[a][labels == c], sample.correct[b][labels == c]).p if (labels == c).any()
           else None for c in range(classes)]
    adjusted = iter(holm([p for p in raw if p is not None]))
    return [None if p is None else next(adjusted) for p in raw]


def per_class_of_run(state: RunState, run_dir) -> PerClass | None:
    """`per_class` with the exact per-class tests where the run's folder `run_dir` holds the per-image
    predictions (reads files and imports scipy: off the UI thread); the bound where it does not."""
    if run_dir is None:
        return per_class(state)
    from cifar_tui.engine.store.correctness import read_test_sample

    tested = {n: s.test_accuracy for n, s in state.strategies.items() if s.test_accuracy is not None}
    return per_class(state, read_test_sample(run_dir, tested, state.summary()) if tested else None)
