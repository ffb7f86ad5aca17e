"""Validation curves of a study as bands: per condition (the non-seed axes) and strategy, the mean over
seeds at each epoch with the min-max range and the standard deviation, and every seed's own curve.

Read from the cells' runs (their events: the per-epoch validation accuracy), so call it off the UI
thread. Only finished cells count, as in the study's statistics.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_tui.engine.errors import UserError
from cifar_tui.engine.store.reader import load_run
from cifar_tui.engine.study.stats import CellResult


@dataclass
class Band:
    strategy: str
    condition: dict[str, Any]  # the non-seed axes
    epochs: list[int] = field(default_factory=list)  # 1-based, ascending
    per_seed: dict[Any, list[float | None]] = field(default_factory=dict)  # seed -> value per epoch (None: none)
    mean: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)  # min over seeds
    high: list[float] = field(default_factory=list)  # max over seeds
    std: list[float | None] = field(default_factory=list)  # sample std (n - 1); None with one seed
    n: list[int] = field(default_factory=list)  # seeds with a value at that epoch

    @property
    def label(self) -> str:
        others = " ".join(f"{k}={v}" for k, v in self.condition.items())
        return f"{self.strategy} {others}".strip()

    @property
    def seeds(self) -> int:
        return len(self.per_seed)


def seed_curves(runs_dir: Path, result: CellResult) -> dict[str, dict[int, float]]:
    """strategy -> epoch -> validation accuracy of one finished cell's run ({} if unreadable)."""
    try:
        state = load_run(runs_dir, result.run_id).state
    except UserError:
        return {}
    return {name: {h["epoch"]: h["val_accuracy"] for h in s.history if h.get("val_accuracy") is not None}
            for name, s in state.strategies.items() if s.status == "finished"}


def make_band(strategy: str, condition: dict[str, Any], curves: dict[Any, dict[int, float]]) -> Band:
    """Fold per-seed curves (seed -> epoch -> value) into a band."""
    band = Band(strategy, condition)
    band.epochs = sorted({e for curve in curves.values() for e in curve})
    band.per_seed = {seed: [curve.get(e) for e in band.epochs] for seed, curve in curves.items()}
    for e in band.epochs:
        values = [curve[e] for curve in curves.values() if e in curve]
        band.mean.append(statistics.fmean(values))
        band.low.append(min(values))
        band.high.append(max(values))
        band.std.append(statistics.stdev(values) if len(values) > 1 else None)
        band.n.append(len(values))
    return band


def validation_bands(results: list[CellResult], runs_dir: Path) -> list[Band]:
    """One band per (condition, strategy), in grid order."""
    grouped: dict[tuple, dict[str, dict[Any, dict[int, float]]]] = {}
    for r in results:
        if r.status != "finished" or not r.run_id:
            continue
        for strategy, curve in seed_curves(runs_dir, r).items():
            if curve:
                grouped.setdefault(r.condition, {}).setdefault(strategy, {})[r.seed] = curve
    return [make_band(strategy, dict(condition), curves)
            for condition, by_strategy in grouped.items() for strategy, curves in by_strategy.items()]


def band_conditions(bands: list[Band]) -> list[dict]:
    """The bands' conditions (non-seed axes), each once, in the bands' order."""
    out: list[dict] = []
    for band in bands:
        if band.condition not in out:
            out.append(band.condition)
    return out
