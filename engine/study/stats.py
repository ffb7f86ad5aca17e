"""Statistics over a study's cells: mean, standard deviation and n over seeds, and paired t-tests.

Cells that differ only by seed are repeats of one condition. For each condition and strategy the test
accuracies of its finished strategies give mean, sample standard deviation (n - 1) and n; a strategy whose
loss diverged (became NaN) is a result too, counted as "diverged in k of n seeds", not a missing cell.

Two kinds of paired difference, both paired by seed (both sides saw the same data subset and split under
one seed) and both tested with Student's t (`scipy.stats.ttest_rel`, two-sided):
- between strategies within one condition (finetune - scratch, ...);
- between conditions for one strategy: every condition against the study's reference condition (the
  spec's `reference`, a value of its x axis; the other non-seed axes are held equal).
Each states the mean per-seed difference, its t-based 95% confidence interval, t, df = n - 1, p and n.
The verdict is "significant at 95%" when p < 0.05, i.e. when the interval excludes 0. At 3 seeds (df = 2)
that takes |mean| > 4.30 standard errors, not 2 (the old rule called 18% of null differences significant).
With n < 2 there is no spread and no test; seeds where either side diverged are left out of the pairing.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.store.reader import read_listing
from engine.study.record import StudyRecord

# probe - frozen: the same features read by a tuned logistic regression vs a head trained with Adam (#18)
PAIRS = (("frozen", "scratch"), ("finetune", "scratch"), ("finetune", "frozen"), ("probe", "frozen"))
LEVEL = 0.95  # two-sided confidence level of intervals and verdicts
SIGNIFICANT = "significant at 95%"
NOT_SIGNIFICANT = "not significant at 95%"
ONE_SEED = "n<2: no seed spread, no test"
NO_SPREAD = "same difference in every seed: no spread to test"
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
    trained: dict[str, Any] = field(default_factory=dict)  # dataset, weights: what its run trained on
    asked: dict[str, Any] = field(default_factory=dict)  # what the run asked for, where that differs

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
    """a - b over seeds (fractions of 1). ci is the t-based 95% interval of the mean; None without spread."""

    a: str
    b: str
    mean: float
    n: int
    per_seed: dict[Any, float] = field(default_factory=dict)
    t: float | None = None
    df: int | None = None
    p: float | None = None
    ci: tuple[float, float] | None = None
    excluded: int = 0  # seeds left out because one side diverged

    @property
    def se(self) -> float | None:
        return statistics.stdev(self.per_seed.values()) / math.sqrt(self.n) if self.n > 1 else None

    @property
    def verdict(self) -> str:
        if self.n < 2:
            return ONE_SEED
        if self.p is None:
            return NO_SPREAD if self.mean != 0 else "no difference in any seed"
        return SIGNIFICANT if self.p < 1 - LEVEL else NOT_SIGNIFICANT

    @property
    def significant(self) -> bool:
        return self.verdict == SIGNIFICANT

    def text(self) -> str:
        head = f"{self.a} - {self.b}: {100 * self.mean:+.1f} pts"
        if self.ci is not None:
            head += (f", 95% CI [{100 * self.ci[0]:+.1f}, {100 * self.ci[1]:+.1f}]"
                     f" (n={self.n}, df={self.df}, t={self.t:.2f}, {p_text(self.p)})")
        else:
            head += f" (n={self.n})"
        left_out = f"; {self.excluded} diverged seed(s) left out" if self.excluded else ""
        return f"{head}: {self.verdict}{left_out}"

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "mean": self.mean, "n": self.n, "df": self.df, "t": self.t,
                "p": self.p, "ci95": list(self.ci) if self.ci else None, "se": self.se, "verdict": self.verdict,
                "excluded_diverged": self.excluded, "per_seed": {str(k): v for k, v in self.per_seed.items()}}


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


def paired_difference(a: str, b: str, va: dict[Any, float], vb: dict[Any, float]) -> Difference | None:
    """a - b paired by seed with a two-sided paired t-test; None when no seed has a value on both sides."""
    from scipy import stats

    shared = sorted(set(va) & set(vb), key=repr)
    seeds = [s for s in shared if math.isfinite(va[s]) and math.isfinite(vb[s])]
    if not seeds:
        return None
    per_seed = {s: va[s] - vb[s] for s in seeds}
    diff = Difference(a, b, statistics.fmean(per_seed.values()), len(seeds), per_seed,
                      excluded=len(shared) - len(seeds))
    if len(seeds) < 2 or statistics.pstdev(per_seed.values()) < ZERO_SPREAD:
        return diff  # no spread: a t statistic would be 0/0 or x/0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision note on near-equal values
        result = stats.ttest_rel([va[s] for s in seeds], [vb[s] for s in seeds])
        interval = result.confidence_interval(confidence_level=LEVEL)
    diff.t, diff.df, diff.p = float(result.statistic), int(result.df), float(result.pvalue)
    diff.ci = (float(interval.low), float(interval.high))
    return diff


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
            result.trained, result.asked = listing.trained, listing.asked
            errors = [f"{name}: {s['error']}" for name, s in listing.strategies.items() if s.get("error")]
            result.reason = listing.problem or "; ".join(errors)
            for name, s in listing.strategies.items():
                if s.get("status") == "finished" and s.get("test_accuracy") is not None:
                    result.test_accuracy[name] = float(s["test_accuracy"])
                elif diverged(s):
                    result.diverged.append(name)
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
        for r in grouped[cond]:
            for name, acc in r.test_accuracy.items():
                values.setdefault(name, {})[r.seed] = acc
            for name in r.diverged:
                values.setdefault(name, {})[r.seed] = math.nan
        per = {name: summarise(list(v.values())) for name, v in values.items()}
        diffs = [d for a, b in PAIRS if a in values and b in values
                 for d in [paired_difference(a, b, values[a], values[b])] if d is not None]
        conditions.append(Condition(dict(cond), per, diffs, values))
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
            diff = paired_difference(c.label, ref.label, c.values[name], ref.values[name])
            out.append(Comparison(name, c.key, c.label, ref.label, diff, c.per_strategy[name],
                                  ref.per_strategy[name]))
    return out
