"""Paired differences of test accuracy between two sides of a study, and their tests (issue #24).

a - b is paired by seed and, where both sides have per-image predictions of the same test images, image by
image; `sample_test` picks the test that accounts for the test sample (engine/analysis/paired_tests.py):
McNemar for one seed, seeds x test images for several, else the seeds plus a bound of the test-sampling
variance. `holm_family` adjusts a study's p-values together (Holm). The paired t over seeds alone is kept
for reference (`seeds_only`), and is the test only where the test set's size is unknown.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cifar_tui.engine.analysis import paired_tests as pt
from cifar_tui.engine.store.correctness import PerImageResults

LEVEL = 0.95  # two-sided confidence level of intervals and verdicts
SIGNIFICANT = "significant at 95%"
NOT_SIGNIFICANT = "not significant at 95%"
ONE_SEED = "1 seed: the test set tells them apart; training noise not measured"
ONE_SEED_NOT = "1 seed: the test set cannot tell them apart"
NO_TEST = "n<2 and the test set's size unknown: no test"
NO_SPREAD = "same difference in every seed: no spread to test"
IDENTICAL = "identical predictions on every test image"
SEEDS_ONLY = "paired t over seeds only, the test sample not covered (test set size unknown)"
ZERO_SPREAD = 1e-9  # below any accuracy resolution (1 / test images): the differences are identical


def p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


@dataclass
class Difference:
    """a - b over seeds (fractions of 1). `test` accounts for the test sample (engine/analysis/paired_tests.py);
    t, df, p and ci are its figures (the paired t over seeds only where the test set's size is unknown);
    `p_holm` is p adjusted over the study's family of comparisons (`holm_family`)."""

    a: str
    b: str
    mean: float
    n: int
    per_seed: dict[Any, float] = field(default_factory=dict)
    t: float | None = None
    df: float | None = None
    p: float | None = None
    ci: tuple[float, float] | None = None
    excluded: int = 0  # seeds left out because one side diverged
    test: pt.SampleTest | None = None
    p_holm: float | None = None
    seeds_only: dict[str, Any] | None = None  # the paired t over seeds alone (training noise only), for reference

    @property
    def se(self) -> float | None:
        """Standard error of the mean difference over seeds (training noise only)."""
        return statistics.stdev(self.per_seed.values()) / math.sqrt(self.n) if self.n > 1 else None

    @property
    def method(self) -> str:
        return self.test.method if self.test is not None else SEEDS_ONLY if self.p is not None else ""

    @property
    def p_adjusted(self) -> float | None:
        return self.p_holm if self.p_holm is not None else self.p

    @property
    def verdict(self) -> str:
        p = self.p_adjusted
        if self.test is not None and self.test.se == 0 and self.mean == 0:
            return IDENTICAL
        if self.test is not None and self.n < 2:
            return ONE_SEED if p < 1 - LEVEL else ONE_SEED_NOT
        if self.n < 2:
            return NO_TEST
        if p is None:
            return NO_SPREAD if self.mean != 0 else "no difference in any seed"
        return SIGNIFICANT if p < 1 - LEVEL else NOT_SIGNIFICANT

    @property
    def significant(self) -> bool:
        return self.verdict == SIGNIFICANT

    def p_texts(self) -> str:
        """"p=0.012, Holm p=0.240" (Holm's only once the family was adjusted)."""
        if self.p is None:
            return ""
        return p_text(self.p) + (f", Holm {p_text(self.p_holm)}" if self.p_holm is not None else "")

    def design(self) -> str:
        """What the test covered, in words: "3 seeds x 10,000 test images, t=1.15, df=9,412"."""
        seeds = f"{self.n} seed{'s' if self.n != 1 else ''}"
        out = f"{seeds} x {self.test.images:,} test images" if self.test is not None else seeds
        if self.t is not None:
            out += f", t={self.t:.2f}" + (f", df={self.df:,.0f}" if self.df is not None else "")
        return out

    def text(self) -> str:
        head = f"{self.a} - {self.b}: {100 * self.mean:+.1f} pts"
        if self.ci is not None and self.p is not None:
            head += f", 95% CI [{100 * self.ci[0]:+.1f}, {100 * self.ci[1]:+.1f}], {self.p_texts()}"
        left_out = f"; {self.excluded} diverged seed(s) left out" if self.excluded else ""
        method = f"{self.method}: " if self.method else ""
        return f"{head}: {self.verdict} ({method}{self.design()}){left_out}"

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "mean": self.mean, "n": self.n, "df": self.df, "t": self.t,
                "p": self.p, "p_holm": self.p_holm, "ci95": list(self.ci) if self.ci else None, "se": self.se,
                "verdict": self.verdict, "method": self.method, "test": self.test.to_dict() if self.test else None,
                "seeds_only": self.seeds_only, "excluded_diverged": self.excluded,
                "per_seed": {str(k): v for k, v in self.per_seed.items()}}


@dataclass
class Evidence:
    """One seed of one condition: its run's test sample (per-image results) and how many test images."""

    sample: PerImageResults | None
    images: int | None


def seeds_only_test(diff: Difference, va: dict[Any, float], vb: dict[Any, float]) -> None:
    """The paired t over seeds (`scipy.stats.ttest_rel`): training noise only, kept for reference; it is the
    difference's own test only where the test set's size is unknown."""
    from scipy import stats

    seeds = list(diff.per_seed)
    if len(seeds) < 2 or statistics.pstdev(diff.per_seed.values()) < ZERO_SPREAD:
        return  # no spread: a t statistic would be 0/0 or x/0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision note on near-equal values
        result = stats.ttest_rel([va[s] for s in seeds], [vb[s] for s in seeds])
        interval = result.confidence_interval(confidence_level=LEVEL)
    diff.seeds_only = {"t": float(result.statistic), "df": int(result.df), "p": float(result.pvalue),
                       "ci95": [float(interval.low), float(interval.high)]}


def sample_test(seeds: list, va: dict[Any, float], vb: dict[Any, float], a: tuple[str, dict[Any, Evidence]],
                b: tuple[str, dict[Any, Evidence]]) -> pt.SampleTest | None:
    """The test of a - b that accounts for the test sample (see engine/analysis/paired_tests.py): McNemar
    for one seed, seeds x test images where every seed tested both sides on the same images, else the
    seeds plus a bound of the test-sampling variance. None when a side's number of test images is unknown."""
    def correct(side, seed):
        evidence = side[1].get(seed)
        return evidence.sample.correct.get(side[0]) if evidence and evidence.sample else None

    def same(seed_a, side_a, seed_b, side_b) -> bool:
        ea, eb = side_a[1].get(seed_a), side_b[1].get(seed_b)
        return bool(ea and eb and ea.sample and eb.sample and ea.sample.same_images(eb.sample))

    arrays = [(correct(a, s), correct(b, s)) for s in seeds]
    have = all(x is not None and y is not None and len(x) > 1 for x, y in arrays)  # 1 image: no variance
    paired = have and all(same(s, a, s, b) for s in seeds)
    if paired and len(seeds) == 1:
        return pt.mcnemar(*arrays[0])
    if paired and all(same(s, a, seeds[0], a) for s in seeds):
        return pt.crossed(np.stack([x.astype(np.int8) - y.astype(np.int8) for x, y in arrays]))
    variances, sizes = [], []
    for s, (x, y) in zip(seeds, arrays, strict=True):
        if x is not None and y is not None and len(x) > 1:
            variances.append(pt.paired_variance(x, y) if same(s, a, s, b) else pt.unpaired_variance(x, y))
            sizes.append(min(len(x), len(y)))
            continue
        known = [e.images for e in (a[1].get(s), b[1].get(s)) if e is not None and e.images]
        if len(known) < 2:
            return None
        variances.append(pt.bound_variance(va[s], vb[s], min(known)))
        sizes.append(min(known))
    return pt.bounded([va[s] - vb[s] for s in seeds], variances, min(sizes))


def paired_difference(a: str, b: str, va: dict[Any, float], vb: dict[Any, float],
                      evidence: tuple[tuple[str, dict[Any, Evidence]], tuple[str, dict[Any, Evidence]]] | None = None,
                      ) -> Difference | None:
    """a - b paired by seed; None when no seed has a value on both sides. `evidence`: for each side, the
    strategy and seed -> Evidence whose per-image results the test pairs (none: the paired t over seeds)."""
    shared = sorted(set(va) & set(vb), key=repr)
    seeds = [s for s in shared if math.isfinite(va[s]) and math.isfinite(vb[s])]
    if not seeds:
        return None
    per_seed = {s: va[s] - vb[s] for s in seeds}
    diff = Difference(a, b, statistics.fmean(per_seed.values()), len(seeds), per_seed,
                      excluded=len(shared) - len(seeds))
    seeds_only_test(diff, va, vb)
    diff.test = sample_test(seeds, va, vb, *evidence) if evidence is not None else None
    if diff.test is not None:
        test = diff.test
        diff.t = test.mean / test.se if test.se > 0 else None
        diff.df, diff.p, diff.ci = test.df, test.p, test.ci
    elif diff.seeds_only is not None:
        only = diff.seeds_only
        diff.t, diff.df, diff.p, diff.ci = only["t"], only["df"], only["p"], tuple(only["ci95"])
    return diff


def holm_family(differences: list[Difference]) -> None:
    """Adjust the p of every tested difference in a study together (Holm); sets each `p_holm`."""
    from cifar_tui.engine.analysis.multiplicity import holm

    tested = [d for d in differences if d.p is not None]
    for d, adjusted in zip(tested, holm([d.p for d in tested]), strict=True):
        d.p_holm = adjusted
