"""A study's progress in time: cells done of total, the time spent on them, and an estimate for the rest.

The estimate is the mean wall time of the finished cells times the cells still to run: honest for a
sequential study whose cells are alike; with `--parallel N` divide by N yourself (it is said, not guessed).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.report.durations import duration  # the one rule of every view (it used to round here)
from cifar_tui.engine.store.reader import read_listing
from cifar_tui.engine.study.stats import CellResult

OPEN = ("pending", "running", "interrupted", "cancelled")  # cells a (resumed) study still has to run


@dataclass
class StudyProgress:
    done: int
    total: int
    elapsed_s: float  # wall time of the cells' runs so far (finished and failed ones)
    per_cell_s: float | None  # mean of the finished cells
    remaining: int
    eta_s: float | None  # per_cell_s x remaining; None before any cell finished

    def text(self) -> str:
        if self.remaining == 0:  # "so far" beside "complete" read as if more were to come
            return f"cells {self.done}/{self.total} | complete, {duration(self.elapsed_s)} in all"
        line = f"cells {self.done}/{self.total} | {duration(self.elapsed_s)} so far"
        if self.eta_s is None:
            return line + f" | {self.remaining} left, ETA once a cell has finished"
        return line + f" | ETA {duration(self.eta_s)} ({self.remaining} left, {duration(self.per_cell_s or 0)} each)"


def study_progress(results: list[CellResult], runs_dir: Path) -> StudyProgress:
    """Reads each run's listing (summary.json): call it off the UI thread."""
    finished, elapsed = [], 0.0
    for r in results:
        if not r.run_id or r.status in ("pending",):
            continue
        seconds = read_listing(Path(runs_dir) / r.run_id).seconds
        if seconds:
            elapsed += seconds
            if r.status == "finished":
                finished.append(seconds)
    remaining = sum(r.status in OPEN for r in results)
    per_cell = statistics.fmean(finished) if finished else None
    return StudyProgress(sum(r.status == "finished" for r in results), len(results), elapsed, per_cell, remaining,
                         per_cell * remaining if per_cell is not None else None)
