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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_tui.engine.store.correctness import PerImageResults, read_test_sample
from cifar_tui.engine.store.reader import read_listing
from cifar_tui.engine.study.differences import (  # noqa: F401  (re-exported: the statistics' one vocabulary)
    IDENTICAL,
    LEVEL,
    NO_SPREAD,
    NO_TEST,
    NOT_SIGNIFICANT,
    ONE_SEED,
    ONE_SEED_NOT,
    SEEDS_ONLY,
    SIGNIFICANT,
    Difference,
    Evidence,
    holm_family,
    p_text,
    paired_difference,
)
from cifar_tui.engine.study.record import StudyRecord

# probe - frozen: the same features read by a tuned logistic regression vs a head trained with Adam (#18)
PAIRS = (("frozen", "scratch"), ("finetune", "scratch"), ("finetune", "frozen"), ("probe", "frozen"))
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
    quiet_s: float | None = None  # running, its writer alive (holds the run's lock) but silent this long
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


def cell_results(record: StudyRecord, runs_dir: Path) -> list[CellResult]:
    out = []
    for cell in record.cells:
        result = CellResult(cell.index, cell.key, cell.label, cell.run_id, "pending")
        folder = Path(runs_dir) / cell.run_id if cell.run_id else None
        if cell.refused and (folder is None or not folder.is_dir()):  # refused before a run was made
            result.status, result.reason = "failed", cell.refused
        elif folder is not None and folder.is_dir():
            listing = read_listing(folder)
            result.status, result.notices, result.quiet_s = listing.status, listing.notices, listing.quiet_s
            result.dataset, result.weights = listing.dataset, listing.weights
            result.trained, result.asked = listing.trained, listing.asked
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
