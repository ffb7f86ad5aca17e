"""Statistics over a study's cells: mean, standard deviation and n over seeds, and paired differences.

Cells that differ only by seed are repeats of one condition. For each condition and strategy the test
accuracies of its finished cells give mean, sample standard deviation (n - 1) and n. A difference between
two strategies is paired by seed (both saw the same data subset and split under one seed): the mean of the
per-seed differences, their standard error, and whether it exceeds the seed-to-seed spread, taken as
|mean difference| > 2 standard errors (about a 95% interval under normality; with n < 2 there is no spread
to compare against and the verdict says so).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.store.reader import read_listing
from engine.study.record import StudyRecord

PAIRS = (("frozen", "scratch"), ("finetune", "scratch"), ("finetune", "frozen"))


@dataclass
class CellResult:
    index: int
    key: dict[str, Any]
    label: str
    run_id: str
    status: str  # pending, running, finished, cancelled, interrupted, failed, damaged
    test_accuracy: dict[str, float] = field(default_factory=dict)  # strategy -> accuracy (finished ones)
    notices: list[str] = field(default_factory=list)
    reason: str = ""  # why a failed or damaged cell failed (a strategy's error, or the folder's problem)

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
    n: int

    def text(self) -> str:
        if self.n == 0 or self.mean is None:
            return "-"
        spread = f" ± {100 * self.std:.1f}" if self.std is not None else ""
        return f"{100 * self.mean:.1f}{spread} (n={self.n})"


@dataclass
class Difference:
    a: str
    b: str
    mean: float
    se: float | None
    n: int

    @property
    def verdict(self) -> str:
        if self.se is None:
            return "n<2: no seed spread to compare"
        if self.se == 0:
            return "exceeds seed spread" if self.mean != 0 else "no difference"
        return "exceeds seed spread" if abs(self.mean) > 2 * self.se else "within seed spread"

    def text(self) -> str:
        se = f" ± {100 * self.se:.1f}" if self.se is not None else ""
        return f"{self.a} - {self.b}: {100 * self.mean:+.1f}{se} pts (n={self.n}, {self.verdict})"


@dataclass
class Condition:
    key: dict[str, Any]  # the non-seed axes
    per_strategy: dict[str, Summary]
    differences: list[Difference]
    values: dict[str, dict[Any, float]]  # strategy -> seed -> accuracy

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.key.items()) or "all"


def summarise(values: list[float]) -> Summary:
    if not values:
        return Summary(None, None, 0)
    return Summary(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None, len(values))


def paired_difference(a: str, b: str, va: dict[Any, float], vb: dict[Any, float]) -> Difference | None:
    seeds = sorted(set(va) & set(vb), key=repr)
    if not seeds:
        return None
    diffs = [va[s] - vb[s] for s in seeds]
    se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else None
    return Difference(a, b, statistics.fmean(diffs), se, len(diffs))


def cell_results(record: StudyRecord, runs_dir: Path) -> list[CellResult]:
    out = []
    for cell in record.cells:
        result = CellResult(cell.index, cell.key, cell.label, cell.run_id, "pending")
        folder = Path(runs_dir) / cell.run_id if cell.run_id else None
        if folder is not None and folder.is_dir():
            listing = read_listing(folder)
            result.status, result.notices = listing.status, listing.notices
            errors = [f"{name}: {s['error']}" for name, s in listing.strategies.items() if s.get("error")]
            result.reason = listing.problem or "; ".join(errors)
            for name, s in listing.strategies.items():
                if s.get("status") == "finished" and s.get("test_accuracy") is not None:
                    result.test_accuracy[name] = float(s["test_accuracy"])
        out.append(result)
    return out


def aggregate(results: list[CellResult]) -> list[Condition]:
    """One Condition per combination of the non-seed axes, in grid order."""
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
            if r.status != "finished":
                continue
            for name, acc in r.test_accuracy.items():
                values.setdefault(name, {})[r.seed] = acc
        per = {name: summarise(list(v.values())) for name, v in values.items()}
        diffs = [d for a, b in PAIRS if a in values and b in values
                 for d in [paired_difference(a, b, values[a], values[b])] if d is not None]
        conditions.append(Condition(dict(cond), per, diffs, values))
    return conditions
