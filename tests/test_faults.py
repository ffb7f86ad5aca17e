"""Damaged checkpoints and a full disk mid-run: one line naming the file, the run never left `running`, the last
committed checkpoint intact, no partial files, a documented exit code, and a resume that finishes."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import threading

import numpy as np
import pytest
from typer.testing import CliRunner

from cifar_tui.cli.main import app
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import CheckpointDamaged
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.resume import plan_resume
from cifar_tui.engine.run.session import record_and_run, resume_and_run
from cifar_tui.engine.store.reader import load_run
from cifar_tui.engine.training import checkpoints as ck

runner = CliRunner()
TINY = ["--train-per-class", "6", "--test-limit", "20", "--epochs", "3", "--batch-size", "16", "--weights", "none",
        "--eager", "--plain", "--strategies", "scratch"]


def folder_digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def stopped_run(cifar_dir, runs):
    """A scratch run interrupted after its first epoch, with that epoch checkpointed."""
    stop = threading.Event()
    stop.reason = "test"

    def stop_after_epoch_1(event):
        if isinstance(event, ev.EpochEnd) and event.epoch == 1:
            stop.set()

    config = ExperimentConfig(data_dir=str(cifar_dir), weights="none", strategies=("scratch",), scratch_epochs=3,
                              batch_size=16, test_limit=20, train_per_class=6, run_eagerly=True, name="faults")
    outcome = record_and_run(config, runs, display=stop_after_epoch_1, stop_event=stop, redirect_native_log=False)
    assert outcome.summary["status"] == "interrupted"
    return outcome.path


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_checkpoint_is_refused_at_plan_time_and_the_folder_left_as_it_was(cifar_dir, tmp_path, damage):
    runs = tmp_path / "runs"
    folder = stopped_run(cifar_dir, runs)
    weights = folder / "checkpoints" / "scratch" / "epoch-0001.weights.npz"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncated" else data[:100] + b"\0" * (len(data) - 100))
    before = folder_digest(folder)
    result = runner.invoke(app, ["resume", folder.name, "--runs-dir", str(runs), "--plain"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output, result.output
    assert f"checkpoint file {weights} is damaged" in result.stderr
    assert f"delete {weights.parent} to restart the scratch strategy from its first epoch" in result.stderr
    assert folder_digest(folder) == before  # nothing appended, nothing removed
    assert load_run(runs, folder.name).state.status == "interrupted"

    shutil.rmtree(weights.parent)  # the remedy the message gives
    assert runner.invoke(app, ["resume", folder.name, "--runs-dir", str(runs), "--plain"]).exit_code == 0
    assert load_run(runs, folder.name).state.status == "finished"


def test_a_checkpoint_damaged_after_planning_stops_the_resume_cleanly(cifar_dir, tmp_path):
    runs = tmp_path / "runs"
    folder = stopped_run(cifar_dir, runs)
    plan = plan_resume(runs, folder.name)
    optimizer = folder / "checkpoints" / "scratch" / "epoch-0001.optimizer.npz"
    optimizer.write_bytes(optimizer.read_bytes()[:64])  # damaged between the plan and the load
    with pytest.raises(CheckpointDamaged, match=f"checkpoint file {optimizer} is damaged"):
        resume_and_run(runs, folder.name, plan=plan, redirect_native_log=False)
    state = load_run(runs, folder.name).state
    assert state.status == "interrupted" and "is damaged" in state.error  # never `running`, never a raw BadZipFile
    assert state.strategies["scratch"].status == "cancelled"  # resumable, not failed


def test_a_full_disk_during_a_checkpoint_save(cifar_dir, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    real_savez = np.savez

    def disk_fills_at_epoch_2(file, **arrays):
        if "epoch-0002" in file.name:
            file.write(b"PK\3\4 half of a file")  # what a full disk leaves: a partial file
            raise OSError(errno.ENOSPC, "No space left on device")
        real_savez(file, **arrays)

    monkeypatch.setattr(np, "savez", disk_fills_at_epoch_2)
    result = runner.invoke(app, ["run", "--data-dir", str(cifar_dir), "--runs-dir", str(runs), *TINY])
    assert result.exit_code == 74, result.output
    (folder,) = runs.iterdir()
    checkpoints = folder / "checkpoints" / "scratch"
    line = result.stderr.strip()
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output, result.output
    assert line == (f"cifar-tui: error: cannot write the epoch 2 checkpoint {checkpoints / 'epoch-0002.weights.npz'}"
                    ": No space left on device; the epoch 1 checkpoint is intact")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "No space left on device" in summary["error"]
    assert summary["strategies"]["scratch"]["status"] == "cancelled"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best-0001.weights.npz", "epoch-0001.optimizer.npz",
                                                              "epoch-0001.weights.npz", "state.json"]
    assert ck.load_checkpoint(checkpoints).epoch == 1  # reads every array: the epoch-1 files are whole

    monkeypatch.setattr(np, "savez", real_savez)  # space freed
    resumed = runner.invoke(app, ["resume", folder.name, "--runs-dir", str(runs), "--plain"])
    assert resumed.exit_code == 0, resumed.output
    scratch = load_run(runs, folder.name).state.strategies["scratch"]
    assert scratch.status == "finished" and [h["epoch"] for h in scratch.history] == [1, 2, 3]


def test_a_failed_strategy_is_reported_on_stderr_too(cifar_dir, tmp_path, monkeypatch):
    from cifar_tui.engine.training import train_strategy as ts

    def nan_loss(name, *args, **kwargs):
        raise ts.TrainingFailed("loss became NaN at epoch 1, step 3 of the train phase")

    monkeypatch.setattr(ts, "train_strategy", nan_loss)
    result = runner.invoke(app, ["run", "--data-dir", str(cifar_dir), "--runs-dir", str(tmp_path), *TINY])
    assert result.exit_code == 1, result.output
    assert "cifar-tui: scratch failed: loss became NaN at epoch 1, step 3 of the train phase" in result.stderr


def test_tensorflow_log_that_cannot_be_moved_on_a_full_disk_is_kept_without_a_traceback(tmp_path, monkeypatch):
    from cifar_tui.engine.run import session

    log = tmp_path / "tmp" / "cifar-tui-x.log"
    log.parent.mkdir()
    log.write_text("oneDNN custom operations are on\n")
    destination = tmp_path / "run" / "tensorflow.log"
    destination.parent.mkdir()

    def full(source, target):
        with open(target, "w") as f:
            f.write("oneDNN")  # a partial copy
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(session.shutil, "move", full)
    session._keep_native_log(log, destination)
    assert log.read_text() == "oneDNN custom operations are on\n" and not destination.exists()
