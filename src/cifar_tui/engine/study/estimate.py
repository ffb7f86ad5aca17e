"""How long a study's cells would take on this machine, for `cifar-tui study --dry-run` (issue #25 section 4).

The work of one strategy in one run is counted in image passes: (training + validation images) x epochs,
plus the test images once, after a fixed start (graph building). Both come from this machine's own record
where there is one: the finished strategies of runs this host recorded in the runs folder (evaluation and
feature caching included), a least-squares line of seconds against image passes over the runs of the same
strategy and model at the nearest recorded input size (with one amount of work, the start is the measured
first-step time `FIRST_STEP_S`), the per-pass cost scaled by pixels to the cell's input size. A strategy
this host never ran is costed from the training throughput measured on a 2-core CPU without GPU
(`CPU_IMAGES_PER_S`), interpolated by pixels, and the estimate says so. Labels only
(engine/data/feasibility.py): no TensorFlow, no image loaded.
"""

from __future__ import annotations

import json
import math
import socket
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.store import paths

# Training images/s on a 2-core CPU (tensorflow-cpu 2.21, batch 32-64, median step after warm-up), by input
# size: measured with the probe summarised in the docs' "measured costs" (machine notes, 2026-11).
CPU_IMAGES_PER_S = {
    "scratch": {32: 1300.0},
    "frozen": {32: 900.0, 96: 370.0, 224: 80.0},
    "probe": {32: 900.0, 96: 370.0, 224: 80.0},
    "finetune": {32: 210.0, 96: 85.0, 224: 15.0},
}
# Seconds before a strategy's first step, mostly graph building (same probe): paid once per run, so they are
# taken out of a recorded strategy's seconds before dividing by its image passes, and added to each cell's.
FIRST_STEP_S = {"scratch": 1.0, "frozen": 5.0, "probe": 5.0, "finetune": 25.0}
RECENT_RUNS = 200  # the newest run folders read for this host's record: enough, and fast


@dataclass
class Estimate:
    seconds: float = 0.0
    cells: int = 0  # cells costed
    measured: set[str] = field(default_factory=set)  # strategies costed from this machine's record
    table: set[str] = field(default_factory=set)  # strategies costed from the CPU table
    unknown: set[str] = field(default_factory=set)  # strategies neither knows (airbench never run here)

    def lines(self) -> list[str]:
        """"estimated time on this machine: about 1 h 20 min", then how, one line per source."""
        how = []
        if self.measured:
            how.append(f"{', '.join(sorted(self.measured))}: seconds per image pass of the runs this host "
                       f"recorded in the runs folder, scaled to each cell's images, epochs and input size")
        if self.table:
            how.append(f"{', '.join(sorted(self.table))}: no such run recorded here yet, so costed from the "
                       f"training throughput measured on the project's 2-core CPU without GPU (not this machine's)")
        if self.unknown:
            how.append(f"{', '.join(sorted(self.unknown))}: not counted (never run here, no measured figure)")
        return [f"estimated time on this machine: about {_duration(self.seconds)}", *[f"  {h}" for h in how]]


def strategy_key(strategy: str, config: dict) -> str:
    if strategy == "scratch" and config.get("scratch_model", "cnn") != "cnn":
        return f"scratch:{config['scratch_model']}"
    return strategy


def _image_size(strategy: str, config: dict) -> int:
    return int(config.get("scratch_image_size", 32) if strategy == "scratch" else config.get("transfer_image_size",
                                                                                               224))


def image_passes(epochs: int, train: int, val: int, test: int) -> float:
    return (train + val) * epochs + test


Record = tuple[int, float, float]  # (input size, image passes, seconds) of one finished strategy


def recorded_costs(runs_dir: Path, host: str | None = None) -> dict[str, list[Record]]:
    """strategy key -> [(input size, image passes, seconds)] of this host's finished strategies."""
    host = host or socket.gethostname()
    folders = sorted((p for p in Path(runs_dir).glob("*/") if not p.name.startswith(".")), reverse=True)
    out: dict[str, list[Record]] = {}
    for folder in folders[:RECENT_RUNS]:
        try:
            summary = json.loads((folder / paths.SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(summary, dict) or (summary.get("environment") or {}).get("host") != host:
            continue
        config, data = summary.get("config") or {}, summary.get("dataset") or {}
        for name, s in (summary.get("strategies") or {}).items():
            if s.get("status") != "finished" or not s.get("seconds") or not s.get("epochs"):
                continue
            passes = image_passes(s["epochs"], data.get("train", 0), data.get("val", 0), data.get("test", 0))
            if passes > 0:
                size = s.get("image_size") or _image_size(name, config)
                out.setdefault(strategy_key(name, config), []).append((int(size), passes, float(s["seconds"])))
    return out


def fitted(records: list[Record], first_step: float) -> tuple[float, float]:
    """(seconds at start, seconds per image pass) through the records of one input size: a least-squares line
    where they span two or more amounts of work (a short run is mostly its start), else the measured start."""
    xs, ys = [r[1] for r in records], [r[2] for r in records]
    if len(set(xs)) >= 2:
        slope, start = statistics.linear_regression(xs, ys)
        if slope > 0 and start >= 0:
            return start, slope
    return first_step, max(statistics.median(y - first_step for y in ys), 0.0) / statistics.median(xs)


def strategy_cost(key: str, size: int, passes: float, recorded: dict[str, list[Record]]) -> tuple[float | None, str]:
    """(seconds, "measured" / "table" / "unknown") of one strategy's `passes` at `size` px."""
    first_step = FIRST_STEP_S.get(key.split(":")[0], 0.0)
    if recorded.get(key):
        nearest = min({r[0] for r in recorded[key]}, key=lambda s: abs(math.log(s / size)))
        start, per_pass = fitted([r for r in recorded[key] if r[0] == nearest], first_step)
        return start + per_pass * (size / nearest) ** 2 * passes, "measured"
    table = CPU_IMAGES_PER_S.get(key)
    if table is None:
        return None, "unknown"
    return first_step + passes / _interpolated(table, size), "table"


def _interpolated(table: dict[int, float], size: int) -> float:
    """Images/s at `size` px: log-log between the measured sizes, by pixels beyond them."""
    sizes = sorted(table)
    if size <= sizes[0] or size >= sizes[-1]:
        edge = sizes[0] if size <= sizes[0] else sizes[-1]
        return table[edge] * (edge / size) ** 2
    low = max(s for s in sizes if s <= size)
    high = min(s for s in sizes if s >= size)
    if low == high:
        return table[low]
    t = math.log(size / low) / math.log(high / low)
    return math.exp(math.log(table[low]) * (1 - t) + math.log(table[high]) * t)


def estimate_cells(configs: list[ExperimentConfig], runs_dir: Path) -> Estimate:
    """The time `configs` (the cells still to run) would take here, one after the other."""
    from cifar_tui.engine.data.feasibility import split_counts

    recorded = recorded_costs(runs_dir)
    out = Estimate()
    for config in configs:
        counts = split_counts(config)
        if counts is None:
            continue
        out.cells += 1
        as_dict = config.to_dict()
        for name in config.strategies:
            epochs = _epochs(name, config)
            key = strategy_key(name, as_dict)
            seconds, source = strategy_cost(key, _image_size(name, as_dict), image_passes(epochs, *counts), recorded)
            getattr(out, source).add(key.replace("scratch:", ""))
            out.seconds += seconds or 0.0
    return out


def _epochs(strategy: str, config: ExperimentConfig) -> int:
    if strategy == "scratch":
        return config.airbench_epochs if config.scratch_model == "airbench" else config.scratch_epochs
    if strategy == "finetune":
        return (0 if config.finetune_from == "frozen" else config.head_epochs) + config.finetune_epochs
    return config.frozen_epochs if strategy == "frozen" else 1  # probe: one pass over the features


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
