"""Statistics over a study's cells: mean, standard deviation and n over seeds, and paired differences.

Cells that differ only by seed are repeats of one condition. For each condition and strategy the test
accuracies of its finished strategies give mean, sample standard deviation (n - 1) and n; a strategy whose
loss diverged (became NaN) is a result too, counted as "diverged in k of n seeds", not a missing cell.

Two kinds of paired difference, both paired by seed (both sides saw the same data subset and split under
one seed) and, where both sides have per-image predictions of the same test images, image by image:
- between strategies within one condition (finetune - scratch, ...);
- between conditions for one strategy: every condition against the study's reference condition (the
  spec's `reference`, a value of its x axis; the other non-seed axes are held equal).
Every seed is tested on the same test images, so the spread over seeds measures training noise only; each
test adds the test sample's own sampling error (engine/analysis/paired_tests.py, issue #24): seeds x test
images (two-way random effects, Satterthwaite t), McNemar's exact test for one seed, or, where per-image
predictions are missing, the seeds plus an upper bound of the test-sampling variance. Each states the mean
difference, its 95% interval, p and the method; a study's comparisons are one family, corrected with
Holm's procedure (engine/analysis/multiplicity.py, `holm_family`), and the verdict is "significant at 95%"
when the Holm-adjusted p < 0.05. Seeds where either side diverged are left out of the pairing.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.analysis import paired_tests as pt
from engine.store.correctness import PerImageResults, read_test_sample
from engine.store.reader import read_listing
from engine.study.record import StudyRecord

# probe - frozen: the same features read by a tuned logistic regression vs a head trained with Adam (#18)
PAIRS = (("frozen", "scratch"), ("finetune", "scratch"), ("finetune", "frozen"), ("probe", "frozen"))
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


def diverged(strategy_summary: dict) -> bool:
    """A strategy that failed because its loss became NaN (train_strategy's TrainingFailed message)."""
    return strategy_summary.get("status") == "failed" and "NaN" in (strategy_summary.get("error") or "")


@dataclass
class CellResult:
    index: int
    key: dict[str, Any]
    label: str
    run_id: str
    status: str  # pending, running, finished, cancelled, interrupted, failed, damaged
    test_accuracy: dict[str, float] = field(default_factory=dict)  # strategy -> accuracy (finished ones)
    notices: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)  # strategies whose loss became NaN in this run
    reason: str = ""  # why a failed or damaged cell failed (a strategy's error, or the folder's problem)
    sample: PerImageResults | None = None  # its test images and which each strategy got right (None: unknown)
    test_images: int | None = None  # how many test images its accuracies were measured on
    dataset: str = ""  # the data set its run trained on (what ran, not what was asked)
    weights: str = ""  # the weights its backbone started from, in words ("random init (NO pretrained weights)")

    @property
    def seed(self) -> Any:
        return self.key.get("seed", 0)

    @property
    def condition(self) -> tuple:
        return tuple((k, v) for k, v in self.key.items() if k != "seed")


@dataclass
class Summary:
    mean: float | None
    std: float | None
    n: int  # seeds with a test accuracy
    diverged: int = 0  # seeds whose training diverged

    def diverged_text(self) -> str:
        return f"diverged in {self.diverged} of {self.n + self.diverged} seeds" if self.diverged else ""

    def text(self) -> str:
        if self.n == 0 or self.mean is None:
            return self.diverged_text() or "-"
        spread = f" ± {100 * self.std:.1f}" if self.std is not None else ""
        extra = f"; {self.diverged_text()}" if self.diverged else ""
        return f"{100 * self.mean:.1f}{spread} (n={self.n}){extra}"


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
class Comparison:
    """One strategy in one condition against the same strategy in the reference condition."""

    strategy: str
    key: dict[str, Any]
    label: str
    reference: str
    difference: Difference | None  # None when no seed has an accuracy on both sides
    summary: Summary
    reference_summary: Summary

    def text(self) -> str:
        if self.difference is not None:
            return f"{self.strategy}: {self.difference.text()}"
        why = "; ".join(f"{side} {s.diverged_text()}" for side, s in ((self.label, self.summary),
                                                                      (self.reference, self.reference_summary))
                        if s.diverged) or "no seed finished on both sides yet"
        return f"{self.strategy}: {self.label} vs {self.reference}: {why}"

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "condition": self.key, "label": self.label, "reference": self.reference,
                "difference": self.difference.to_dict() if self.difference else None,
                "diverged": self.summary.diverged, "reference_diverged": self.reference_summary.diverged,
                "text": self.text()}


@dataclass
class Condition:
    key: dict[str, Any]  # the non-seed axes
    per_strategy: dict[str, Summary]
    differences: list[Difference]
    values: dict[str, dict[Any, float]]  # strategy -> seed -> accuracy (NaN: diverged)
    samples: dict[Any, Evidence] = field(default_factory=dict)  # seed -> its run's test sample

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.key.items()) or "all"


def summarise(values: list[float]) -> Summary:
    finite = [v for v in values if math.isfinite(v)]
    lost = len(values) - len(finite)
    if not finite:
        return Summary(None, None, 0, lost)
    return Summary(statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else None, len(finite),
                   lost)


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
    have = all(x is not None and y is not None for x, y in arrays)
    paired = have and all(same(s, a, s, b) for s in seeds)
    if paired and len(seeds) == 1:
        return pt.mcnemar(*arrays[0])
    if paired and all(same(s, a, seeds[0], a) for s in seeds):
        return pt.crossed(np.stack([x.astype(np.int8) - y.astype(np.int8) for x, y in arrays]))
    variances, sizes = [], []
    for s, (x, y) in zip(seeds, arrays, strict=True):
        if x is not None and y is not None:
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
    from engine.analysis.multiplicity import holm

    tested = [d for d in differences if d.p is not None]
    for d, adjusted in zip(tested, holm([d.p for d in tested]), strict=True):
        d.p_holm = adjusted


def cell_results(record: StudyRecord, runs_dir: Path) -> list[CellResult]:
    out = []
    for cell in record.cells:
        result = CellResult(cell.index, cell.key, cell.label, cell.run_id, "pending")
        folder = Path(runs_dir) / cell.run_id if cell.run_id else None
        if cell.refused and (folder is None or not folder.is_dir()):  # refused before a run was made
            result.status, result.reason = "failed", cell.refused
        elif folder is not None and folder.is_dir():
            listing = read_listing(folder)
            result.status, result.notices = listing.status, listing.notices
            result.dataset, result.weights = listing.dataset, listing.weights
            errors = [f"{name}: {s['error']}" for name, s in listing.strategies.items() if s.get("error")]
            result.reason = listing.problem or "; ".join(errors)
            for name, s in listing.strategies.items():
                if s.get("status") == "finished" and s.get("test_accuracy") is not None:
                    result.test_accuracy[name] = float(s["test_accuracy"])
                elif diverged(s):
                    result.diverged.append(name)
            if result.test_accuracy:
                result.sample = read_test_sample(folder, result.test_accuracy)
                result.test_images = result.sample.key[1]
        out.append(result)
    return out


def aggregate(results: list[CellResult]) -> list[Condition]:
    """One Condition per combination of the non-seed axes, in grid order.

    A strategy's result counts as soon as that strategy finished (or diverged), whatever its run's status:
    a run that failed because one strategy diverged keeps its other strategies' accuracies."""
    order: list[tuple] = []
    grouped: dict[tuple, list[CellResult]] = {}
    for r in results:
        if r.condition not in grouped:
            order.append(r.condition)
            grouped[r.condition] = []
        grouped[r.condition].append(r)
    conditions = []
    for cond in order:
        values: dict[str, dict[Any, float]] = {}
        samples = {r.seed: Evidence(r.sample, r.test_images) for r in grouped[cond]}
        for r in grouped[cond]:
            for name, acc in r.test_accuracy.items():
                values.setdefault(name, {})[r.seed] = acc
            for name in r.diverged:
                values.setdefault(name, {})[r.seed] = math.nan
        per = {name: summarise(list(v.values())) for name, v in values.items()}
        diffs = [d for a, b in PAIRS if a in values and b in values
                 for d in [paired_difference(a, b, values[a], values[b], ((a, samples), (b, samples)))]
                 if d is not None]
        conditions.append(Condition(dict(cond), per, diffs, values, samples))
    return conditions


def compare_with_reference(conditions: list[Condition], x: str, reference: Any) -> list[Comparison]:
    """For each strategy, every condition against the one with x = `reference` and the same other axes.

    Empty without a reference (or when the grid has no such condition yet). Ordered by strategy, then grid."""
    if reference is None:
        return []
    by_key = {tuple(c.key.items()): c for c in conditions}
    strategies: list[str] = []
    for c in conditions:
        strategies += [n for n in c.per_strategy if n not in strategies]
    out = []
    for name in strategies:
        for c in conditions:
            if x not in c.key or c.key[x] == reference or name not in c.values:
                continue
            ref = by_key.get(tuple({**c.key, x: reference}.items()))
            if ref is None or name not in ref.values:
                continue
            diff = paired_difference(c.label, ref.label, c.values[name], ref.values[name],
                                     ((name, c.samples), (name, ref.samples)))
            out.append(Comparison(name, c.key, c.label, ref.label, diff, c.per_strategy[name],
                                  ref.per_strategy[name]))
    return out


def study_comparisons(conditions: list[Condition], x: str, reference: Any) -> list[Comparison]:
    """Every condition against the reference, per strategy (`compare_with_reference`), with the p of these and
    of the differences between strategies (in `conditions`) adjusted together as one family (Holm)."""
    out = compare_with_reference(conditions, x, reference)
    holm_family([c.difference for c in out if c.difference is not None]
                + [d for c in conditions for d in c.differences])
    return out
