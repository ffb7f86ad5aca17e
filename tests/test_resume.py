"""Checkpoints and resume in process: atomic saves, optimizer state, resumed phases, locks, torn lines."""

from __future__ import annotations

import json
import threading

import keras
import numpy as np
import pytest

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import StoreError, UserError
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.resume import plan_resume
from cifar_tui.engine.run.session import record_and_run, resume_and_run
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.reader import load_run
from cifar_tui.engine.store.recorder import RunRecorder, _cut_torn_line
from cifar_tui.engine.training import checkpoints as ck
from cifar_tui.engine.training.callbacks import BestEpoch


def small_model():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(8)(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    return model


def fitted_model():
    model = small_model()
    x, y = np.random.default_rng(0).normal(size=(32, 4)), np.arange(32) % 3
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return model


class WholeEpochs:  # stands in for the EventEmitter: every epoch it is asked about was whole
    def __init__(self):
        self.completed_epoch = 0


def saver_for(tmp_path, model):
    best = BestEpoch(threading.Event())
    best.best_epoch, best.best_accuracy = 1, 0.5
    best.best_weights = model.get_weights()
    saver = ck.Checkpointer(tmp_path / "ck", "scratch", 0, best, threading.Event())
    saver.set_model(model)
    saver.start_phase("train", 1e-2, WholeEpochs())
    return saver


def test_restored_optimizer_equals_the_saved_one(tmp_path):
    model = fitted_model()
    saver = saver_for(tmp_path, model)
    checkpoint = saver.save(1)
    fresh = small_model()
    ck.restore_weights(fresh, tmp_path / "ck" / checkpoint.weights_file)
    ck.restore_optimizer(fresh, tmp_path / "ck" / checkpoint.optimizer_file)
    saved = ck.optimizer_arrays(model.optimizer)
    restored = ck.optimizer_arrays(fresh.optimizer)
    assert len(saved) == len(restored) and int(fresh.optimizer.iterations.numpy()) == 8
    for a, b in zip(saved, restored, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_crash_while_saving_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    model = fitted_model()
    saver = saver_for(tmp_path, model)
    saver.save(1)

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck, "atomic_write_json", crash)  # the new files are written, the commit fails
    with pytest.raises(OSError):
        saver.save(2)
    checkpoint = ck.load_checkpoint(tmp_path / "ck")
    assert checkpoint.epoch == 1
    fresh = small_model()
    ck.restore_weights(fresh, tmp_path / "ck" / checkpoint.weights_file)  # the epoch-1 files are intact


def test_a_damaged_checkpoint_is_a_clear_error(tmp_path):
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "state.json").write_text("{not json")
    with pytest.raises(UserError, match="damaged"):
        ck.load_checkpoint(folder)


def test_cut_torn_line_keeps_whole_lines_only(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":2}\n{"c":')
    _cut_torn_line(path)
    assert path.read_bytes() == b'{"a":1}\n{"b":2}\n'
    _cut_torn_line(path)  # nothing torn: unchanged
    assert path.read_bytes() == b'{"a":1}\n{"b":2}\n'


def test_two_writers_never_share_a_run(tmp_path):
    from events_factory import full_run

    run_id = "20260101-000000-lock-0000abcd"
    writer = RunRecorder(tmp_path, run_id)
    writer(full_run(run_id)[0])  # RunStarted: the folder is created and locked
    with pytest.raises(StoreError, match="being written by another process"):
        RunRecorder.reopen(tmp_path, run_id, load_run(tmp_path, run_id).state)
    writer.close()
    second = RunRecorder.reopen(tmp_path, run_id, load_run(tmp_path, run_id).state)  # free once closed
    second.close()


def tiny(cifar_dir, **kw) -> ExperimentConfig:
    values = dict(data_dir=str(cifar_dir), weights="none", transfer_image_size=32, batch_size=16,
                  strategies=("scratch", "finetune"), scratch_epochs=1, head_epochs=1, finetune_epochs=2,
                  test_limit=20, run_eagerly=True, name="resume")
    values.update(kw)
    return ExperimentConfig(**values)


@pytest.mark.slow
def test_resume_continues_inside_the_finetune_phase(cifar_dir, tmp_path, monkeypatch):
    import cifar_tui.engine.analysis.backbone_change as analysis

    stop = threading.Event()
    stop.reason = "test"
    drawn, compared_with = [], []  # every "before" snapshot taken; the start the analysis measured against
    snapshot, measure = analysis.snapshot, analysis.backbone_change
    monkeypatch.setattr(analysis, "snapshot", lambda b: drawn.append(snapshot(b)) or drawn[-1])
    monkeypatch.setattr(analysis, "backbone_change",
                        lambda m, b, start, *a, **k: compared_with.append(start) or measure(m, b, start, *a, **k))

    def stop_after_finetune_epoch_2(event):
        if isinstance(event, ev.EpochEnd) and event.strategy == "finetune" and event.epoch == 2:
            stop.set()

    first = record_and_run(tiny(cifar_dir), tmp_path, display=stop_after_finetune_epoch_2, stop_event=stop,
                           redirect_native_log=False)
    assert first.summary["status"] == "interrupted"
    state = json.loads((first.path / "checkpoints" / "finetune" / "state.json").read_text())
    assert (state["epoch"], state["phase"]) == (2, "finetune")  # the epoch whose end the stop came after

    plan = plan_resume(tmp_path, first.run_id)
    assert plan.skipped == ["scratch"] and plan.from_epochs() == {"finetune": 2}
    seen: list[ev.Event] = []
    second = resume_and_run(tmp_path, first.run_id, display=seen.append, redirect_native_log=False)
    assert second.summary["status"] == "finished" and second.path == first.path
    kinds = [e.type for e in seen if e.type not in ("batch_end", "log")]
    assert kinds == ["run_resumed", "strategy_started", "phase_started", "epoch_end", "evaluated",
                     "test_predictions", "backbone_change", "strategy_finished", "run_finished"]
    assert [(e.phase, e.first_epoch) for e in seen if isinstance(e, ev.PhaseStarted)] == [("finetune", 2)]
    loaded = load_run(tmp_path, first.run_id)
    finetune = loaded.state.strategies["finetune"]
    assert [h["epoch"] for h in finetune.history] == [1, 2, 3]
    assert finetune.phase_starts == [("head", 1), ("finetune", 2)]
    assert loaded.state.strategies["scratch"].status == "finished" and loaded.state.resumes == 1
    assert (first.path / paths.EVENTS_FILE).read_text().count('"type":"run_started"') == 1
    # --weights none: the analysis' "before" is this run's own random init, saved at the start and read back,
    # not the resumed build's (seeded with seed + epoch: another draw)
    assert (first.path / "checkpoints" / "finetune" / "backbone-start.npz").is_file()
    (own_start,) = drawn
    (start,) = compared_with
    assert all(np.array_equal(a, b) for a, b in zip(start.values(), own_start.values(), strict=True))
    assert "not saved" not in finetune.backbone_change["reference"]
    with pytest.raises(UserError, match="nothing to resume"):
        plan_resume(tmp_path, first.run_id)
