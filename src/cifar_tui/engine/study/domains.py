"""The evidence of the `domains` study (issue #29): transfer's advantage over scratch on each data set, in
order of the data set's distance from ImageNet.

Each cell's run records its data set's distance from ImageNet (`domain_distance = true`; the measure and its
definition: engine/analysis/domain_distance.py) in its data set record. Here the study gathers them per data
set (every run of one data set measures the same fixed sample with the same weights: they agree, and a
disagreement is shown as a spread), and lines up, nearest data set first, the paired differences within
each condition of the transfer strategies against scratch (engine/study/stats.py: paired by seed, t-based
95% interval, p). This module states the evidence; whether the advantage holds, shrinks or reverses with
distance is the verdict's to say (`DomainEvidence` is its input: `rows` in distance order, each with its
distance and its differences, and `points(strategy)` for a trend across data sets).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_tui.engine.errors import UserError
from cifar_tui.engine.study.record import StudyRecord
from cifar_tui.engine.study.stats import CellResult, Condition, Difference

TRANSFER = ("frozen", "finetune", "probe")


@dataclass
class Distance:
    dataset: str  # as the runs recorded it ("mnist", "folder:photos")
    value: float | None  # mean over the runs that measured it; None: not measured
    why: str = ""  # why not measured
    runs: int = 0
    spread: float = 0.0  # max - min over runs (0 when they agree, as they should)
    definition: str = ""

    def text(self) -> str:
        if self.value is None:
            return f"{self.dataset}: distance {self.why or 'not recorded'}"
        spread = f" (runs differ by {self.spread:.3g})" if self.spread > 1e-6 * max(1.0, abs(self.value)) else ""
        return f"{self.dataset}: distance from ImageNet {self.value:.3f} nats{spread}"


@dataclass
class DomainRow:
    condition: Condition
    distance: Distance
    differences: list[Difference] = field(default_factory=list)  # transfer strategy - scratch


@dataclass
class DomainEvidence:
    rows: list[DomainRow]  # nearest data set first; unmeasured last, in grid order

    def points(self, strategy: str) -> list[tuple[str, dict[str, Any], float, Difference]]:
        """(data set, condition key, distance, strategy - scratch) wherever both are known: a trend's input."""
        return [(r.distance.dataset, r.condition.key, r.distance.value, d) for r in self.rows for d in r.differences
                if d.a == strategy and r.distance.value is not None]

    def lines(self) -> list[tuple[str, str]]:
        """(kind, text) lines in the style of cifar_tui.engine.study.report.statistics_lines."""
        out: list[tuple[str, str]] = [("head", "Transfer against scratch, data sets nearest to ImageNet first")]
        shown: set[str] = set()
        for row in self.rows:
            if row.distance.dataset not in shown:
                shown.add(row.distance.dataset)
                out.append(("note", row.distance.text()))
            for d in row.differences:
                out.append(("yes" if d.significant else "no", f"{row.condition.label}: {d.text()}"))
        definition = next((r.distance.definition for r in self.rows if r.distance.definition), "")
        if definition:
            out.append(("note", f"Distance: {definition}; measured by each run before training, on a fixed sample "
                                "of its training images (labels unused), independent of the accuracies."))
        return out

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"condition": r.condition.key, "dataset": r.distance.dataset, "distance": r.distance.value,
                 "distance_runs": r.distance.runs, "distance_spread": r.distance.spread,
                 "distance_why": r.distance.why, "differences": [d.to_dict() for d in r.differences]}
                for r in self.rows]


def recorded_distance(runs_dir: Path, run_id: str) -> tuple[str, dict]:
    """(data set name, its imagenet_distance record or {}) of one run, from its summary (its events if the
    summary cannot be read); ("", {}) for a run that cannot be read at all."""
    from cifar_tui.engine.store import paths

    summary = Path(runs_dir) / run_id / paths.SUMMARY_FILE
    try:
        dataset = _summary_dataset(str(summary), summary.stat().st_mtime_ns)
    except (OSError, ValueError, AttributeError):
        from cifar_tui.engine.store.reader import load_run

        try:
            dataset = load_run(Path(runs_dir), run_id).state.dataset
        except (UserError, OSError, ValueError):
            return "", {}
    return str(dataset.get("name", "")), dict(dataset.get("imagenet_distance") or {})


@functools.lru_cache(maxsize=4096)
def _summary_dataset(path: str, _mtime_ns: int) -> dict:
    """A run summary's data set record; cached until the file changes (the app redraws every few seconds)."""
    import json

    with open(path, encoding="utf-8") as f:
        return json.load(f).get("dataset") or {}


def distances(results: list[CellResult], runs_dir: Path) -> dict[tuple, Distance]:
    """Per condition (the non-seed axes): its data set's distance, gathered over the condition's runs."""
    found: dict[tuple, list[tuple[str, dict]]] = {}
    for r in results:
        if r.run_id and (Path(runs_dir) / r.run_id).is_dir():
            found.setdefault(r.condition, []).append(recorded_distance(runs_dir, r.run_id))
    by_dataset: dict[str, list[dict]] = {}
    for entries in found.values():
        for name, entry in entries:
            if name:
                by_dataset.setdefault(name, []).append(entry)
    out = {}
    for condition, entries in found.items():
        name = next((n for n, _e in entries if n), "")
        if name:
            out[condition] = _combine(name, by_dataset[name])
    return out


def _combine(name: str, entries: list[dict]) -> Distance:
    values = [float(e["value"]) for e in entries if isinstance(e.get("value"), (int, float))
              and math.isfinite(e["value"])]
    definition = next((e.get("definition", "") for e in entries if e.get("definition")), "")
    if not values:
        why = next((e.get("why", "") for e in entries if e.get("why")), "") or "not measured (domain_distance off)"
        return Distance(name, None, why, 0, 0.0, definition)
    return Distance(name, sum(values) / len(values), "", len(values), max(values) - min(values), definition)


def domain_evidence(record: StudyRecord, results: list[CellResult], conditions: list[Condition],
                    runs_dir: Path) -> DomainEvidence | None:
    """The evidence, or None when no run of the study recorded a distance (not a domains study)."""
    measured = distances(results, runs_dir)
    if not any(d.value is not None or d.definition for d in measured.values()):
        return None
    rows = []
    for condition in conditions:
        distance = measured.get(tuple(condition.key.items()))
        if distance is None:
            continue
        rows.append(DomainRow(condition, distance, [d for d in condition.differences
                                                    if d.b == "scratch" and d.a in TRANSFER]))
    order = {id(r): i for i, r in enumerate(rows)}
    rows.sort(key=lambda r: (r.distance.value is None, r.distance.value or 0.0, order[id(r)]))
    return DomainEvidence(rows)


def evidence_lines(record: StudyRecord, results: list[CellResult], conditions: list[Condition],
                   runs_dir: Path | None) -> list[tuple[str, str]]:
    """The evidence as (kind, text) lines for `studies show`, the app and report.md; [] when there is none."""
    evidence = domain_evidence(record, results, conditions, runs_dir) if runs_dir is not None else None
    return evidence.lines() if evidence is not None else []
