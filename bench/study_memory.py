"""Peak resident memory over a tiny 20-cell study run in one process (digits, scratch + frozen, 1 epoch).

    python bench/study_memory.py RUNS_DIR [--keep-models]

Prints the resident set size after each cell and the process's peak (ru_maxrss), in MB. A study of many
cells (or an app session of many runs) must not grow without bound: each finished strategy's model is
released (`cifar_tui.engine.run.runner.release_models`); `--keep-models` skips that, to measure the difference.
"""

from __future__ import annotations

import resource
import sys
import threading
from pathlib import Path

from cifar_tui.engine.study.runner import run_study
from cifar_tui.engine.study.spec import parse_spec

SPEC = {
    "name": "memory-20", "title": "20 tiny cells",
    "base": {"preset": "custom", "dataset": "digits", "weights": "none", "strategies": ["scratch", "frozen"],
             "epochs": 1, "head_epochs": 0, "image_size": 32, "batch_size": 32, "train_per_class": 10,
             "test_limit": 50, "checkpoints": False, "finetune_analysis": False},
    "axes": {"seed": list(range(20))},
}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(runs_dir: str, keep_models: bool = False) -> None:
    if keep_models:
        import cifar_tui.engine.run.runner

        cifar_tui.engine.run.runner.release_models = lambda: None
    spec = parse_spec(SPEC)
    after = []

    def on_cell(outcome) -> None:
        after.append(rss_mb())
        print(f"cell {outcome.cell.index + 1:>2}: {outcome.status:<8} RSS {after[-1]:7.0f} MB", flush=True)

    run_study(spec, Path(runs_dir), threading.Event(), on_cell=on_cell)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS after cell 1 {after[0]:.0f} MB, after cell 20 {after[-1]:.0f} MB, peak {peak:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1], "--keep-models" in sys.argv[2:])
