"""End to end on tiny genuine-format CIFAR-10 files: all three strategies, the run folder, cancel, failures."""

from __future__ import annotations

import json
import threading

import pytest

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import ConfigError, DataError
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.runner import run_experiment
from cifar_tui.engine.run.session import record_and_run
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.predictions import read_predictions
from cifar_tui.engine.store.reader import list_runs


def cm_rows(csv_rows: list[str]) -> list[list[int]]:
    return [[int(v) for v in r.split(",")[1:]] for r in csv_rows]


def tiny(cifar_dir, **kw) -> ExperimentConfig:
    values = dict(data_dir=str(cifar_dir), weights="none", transfer_image_size=32, batch_size=16,
                  scratch_epochs=1, frozen_epochs=1, head_epochs=1, finetune_epochs=1, test_limit=20,
                  run_eagerly=True, name="tiny")
    values.update(kw)
    return ExperimentConfig(**values)


@pytest.mark.slow
def test_all_three_strategies_end_to_end(cifar_dir, tmp_path):
    seen: list[ev.Event] = []
    outcome = record_and_run(tiny(cifar_dir), tmp_path / "runs", display=seen.append)
    kinds = [e.type for e in seen if e.type != "batch_end"]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert seen[0].config["jit"] is None and seen[0].environment["jit"] is False  # auto: no XLA on a CPU
    for name in ("scratch", "frozen", "finetune"):
        mine = [e.type for e in seen if getattr(e, "strategy", None) == name and e.type != "batch_end"]
        # per-image predictions, then what fine-tuning changed, per block
        analysis = ["test_predictions", "backbone_change"] if name == "finetune" else ["test_predictions"]
        assert mine[0] == "strategy_started" and mine[-2 - len(analysis):] == ["evaluated", *analysis,
                                                                               "strategy_finished"]
        # the test set is touched after the last epoch of the strategy, never before
        assert mine.index("evaluated") > max(i for i, k in enumerate(mine) if k == "epoch_end")
    phases = [(e.strategy, e.phase) for e in seen if isinstance(e, ev.PhaseStarted)]
    assert phases == [("scratch", "train"), ("frozen", "train"), ("finetune", "head"), ("finetune", "finetune")]
    # what each strategy and phase trained with, never empty (issue #24): the transfer strategies differ only
    # by unfreezing, the same augmentation in every phase, cached features where the backbone is frozen
    recipes = {e.strategy: e.recipe for e in seen if isinstance(e, ev.StrategyStarted)}
    assert all(recipes.values()) and "augmentation flip+translate" in recipes["scratch"]
    lines = {(e.strategy, e.phase): e.recipe for e in seen if isinstance(e, ev.PhaseStarted)}
    for key in (("frozen", "train"), ("finetune", "head"), ("finetune", "finetune")):
        assert "augmentation flip+translate" in lines[key] and lines[key] in recipes[key[0]], lines[key]
    assert lines[("frozen", "train")] == lines[("finetune", "head")]  # equal budgets: the same phase
    assert "features cached (each epoch's augmented images)" in lines[("finetune", "head")]
    assert "backbone unfrozen (all blocks, BatchNorm training)" in lines[("finetune", "finetune")]
    assert "backbone live" in lines[("finetune", "finetune")]

    summary = outcome.summary
    assert summary["status"] == "finished" and summary["dataset"]["name"] == "cifar10"
    assert summary["weights"]["pretrained"] is False  # labelled: no pretrained weights
    folder = outcome.path
    for name in ("scratch", "frozen", "finetune"):
        cm = json.loads((folder / "strategies" / name / "metrics.json").read_text())
        assert 0 <= cm["test_accuracy"] <= 1
        rows = (folder / "strategies" / name / "confusion_matrix.csv").read_text().splitlines()[1:]
        assert sum(int(v) for r in rows for v in r.split(",")[1:]) == 20  # == test count
        recorded = read_predictions(folder, name)  # the per-image arrays agree with the matrix
        assert len(recorded) == 20
        assert [[len(recorded.cell(t, p)) for p in range(10)] for t in range(10)] == cm_rows(rows)
    stored = [json.loads(line)["type"] for line in (folder / paths.EVENTS_FILE).read_text().splitlines()]
    assert [k for k in stored if k != "batch_end"] == kinds
    assert list_runs(tmp_path / "runs")[0].status == "finished"
    change = summary["strategies"]["finetune"]["backbone_change"]
    assert change["blocks"] == ["stem", *[f"block{i}" for i in range(1, 8)], "top"] and change["images"] == 20
    # measured on the tested model, or, when its best epoch was the head's (issue #24), on the weights
    # fine-tuning produced, and labelled so
    before_unfreezing = summary["strategies"]["finetune"]["best_epoch"] == 1
    assert ("before unfreezing" in change["weights"]) == before_unfreezing, change["weights"]
    assert all(w > 0 for w in change["weight_change"][1:])
    assert all(0 < c <= 1 + 1e-6 for c in change["cka"])
    frozen = summary["strategies"]["frozen"]
    assert frozen["trainable_params"] < frozen["total_params"] / 100  # only the head trains


def test_cancel_stops_within_one_batch_and_is_recorded(cifar_dir, tmp_path):
    stop = threading.Event()
    batches_after_stop, seen_epochs = [], []

    def sink(e):
        if isinstance(e, ev.EpochEnd):
            seen_epochs.append(e)
        if isinstance(e, ev.BatchEnd):
            if stop.is_set():
                batches_after_stop.append(e)
            elif e.step == 2:
                stop.set()

    config = tiny(cifar_dir, strategies=("scratch", "frozen"), scratch_epochs=3, batch_size=8)
    outcome = record_and_run(config, tmp_path / "runs", display=sink, stop_event=stop)
    assert outcome.summary["status"] == "cancelled"
    assert batches_after_stop == []  # the batch in flight when asked was the last one
    assert not [e for e in seen_epochs if e.strategy == "scratch"]  # a cut-short epoch is not recorded
    assert outcome.summary["strategies"]["scratch"]["status"] == "cancelled"
    assert outcome.summary["strategies"]["frozen"]["status"] == "not started"  # never started: resume runs it
    assert list_runs(tmp_path / "runs")[0].status == "cancelled"


def test_a_failing_strategy_is_recorded_and_the_next_one_runs(cifar_dir, monkeypatch):
    from cifar_tui.engine.training import train_strategy as ts

    real = ts.train_strategy

    def flaky(name, *args):
        if name == "scratch":
            raise ts.TrainingFailed("loss became NaN at epoch 1, step 3: try a smaller learning rate")
        return real(name, *args)

    monkeypatch.setattr(ts, "train_strategy", flaky)
    seen = []
    summary = run_experiment(tiny(cifar_dir, strategies=("scratch", "frozen")), seen.append)
    assert summary["status"] == "failed"
    assert summary["strategies"]["scratch"]["status"] == "failed"
    assert "NaN" in summary["strategies"]["scratch"]["error"]
    assert summary["strategies"]["frozen"]["status"] == "finished"


def test_bad_input_records_nothing(tmp_path):
    with pytest.raises(ConfigError):
        record_and_run(ExperimentConfig(batch_size=0), tmp_path / "runs")
    with pytest.raises(DataError, match="does not exist"):
        record_and_run(ExperimentConfig(data_dir=str(tmp_path / "nope")), tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
