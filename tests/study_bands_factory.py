"""A recorded two-condition, three-seed study whose cells have different validation curves per seed,
for the bands, progress and reference-line tests (TensorFlow-free)."""

from __future__ import annotations

from events_factory import run_started, strategy_events

from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.recorder import RunRecorder
from cifar_tui.engine.study.record import new_record, save_record
from cifar_tui.engine.study.spec import parse_spec

SPEC = {"name": "bands-study", "title": "bands", "x": "train_fraction",
        "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch", "finetune"]},
        "axes": {"train_fraction": [0.1, 1.0], "seed": [0, 1, 2]}}
SECONDS = 60.0  # each finished cell's wall time


def curves(fraction: float, seed: int) -> dict[str, tuple[float, ...]]:
    """Validation accuracy per epoch (3 epochs) of each strategy in the cell (fraction, seed)."""
    lift = 0.2 if fraction == 1.0 else 0.0
    return {"scratch": (0.2 + lift + 0.02 * seed, 0.3 + lift + 0.03 * seed, 0.35 + lift + 0.05 * seed),
            "finetune": (0.5 + lift + 0.01 * seed, 0.6 + lift - 0.02 * seed, 0.7 + lift + 0.04 * seed)}


def record_bands_study(runs_dir, finished_cells: int = 5, dataset: dict | None = None,
                       weights: dict | None = None):
    """Records the first `finished_cells` of the 6 cells; the rest stay pending."""
    record = new_record(parse_spec(SPEC))
    for cell in record.cells[:finished_cells]:
        run_id = f"20270121-08000{cell.index}-bands-study-00{cell.index}-0000abc{cell.index}"
        started = run_started(run_id, strategies=("scratch", "finetune"))
        if dataset is not None:
            started.dataset = {**started.dataset, **dataset}
        if weights is not None:
            started.weights = weights
        recorder = RunRecorder(runs_dir, run_id)
        per = curves(cell.key["train_fraction"], cell.key["seed"])
        for e in [started, *strategy_events("scratch", accs=per["scratch"], test_acc=per["scratch"][-1]),
                  *strategy_events("finetune", accs=per["finetune"], test_acc=per["finetune"][-1]),
                  ev.RunFinished(status="finished", seconds=SECONDS)]:
            recorder(e)
        recorder.close()
        cell.run_ids.append(run_id)
    save_record(runs_dir, record)
    return record
