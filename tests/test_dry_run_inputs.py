"""`study --dry-run` says what the cells would have to download, and how to avoid it, before anything runs
(a reviewer ran `study data-efficiency-cpu --dry-run` offline and was told nothing)."""

from __future__ import annotations

from cifar_writers import tiny_cifar
from typer.testing import CliRunner

from cifar_tui.cli.main import app

STUDY = ["study", "data-efficiency-cpu", "--dry-run"]


def test_missing_data_set_and_weights_are_named_with_their_fix(keras_home, tmp_path):
    out = CliRunner().invoke(app, [*STUDY, "--runs-dir", str(tmp_path / "runs")]).output
    assert f"CIFAR-10 is not in {keras_home / 'datasets'}" in out and "--set data_dir=DIR" in out
    assert f"ImageNet weights are not in {keras_home / 'models'}" in out and "--set weights=PATH" in out
    assert "cell 1/6" in out  # the plan itself is still listed


def test_nothing_is_said_when_both_are_here(keras_home, tmp_path):
    tiny_cifar(keras_home / "datasets")  # where Keras 2 leaves cifar-10-batches-py
    (keras_home / "models").mkdir()
    (keras_home / "models" / "efficientnetb0_notop.h5").write_bytes(b"checked by the run, not the dry run")
    out = CliRunner().invoke(app, [*STUDY, "--runs-dir", str(tmp_path / "runs")]).output
    assert "is not in" not in out and "fails without internet" not in out


def test_a_data_folder_without_the_data_set_is_a_failure_foretold(keras_home, tmp_path):
    out = CliRunner().invoke(app, [*STUDY, "--set", f"data_dir={tmp_path}", "--runs-dir", str(tmp_path / "runs")])
    line = next(line for line in out.output.splitlines() if line.startswith("will fail"))
    # in the words `study` takes: it has no --data-dir or --dataset option
    assert line.startswith(f"will fail: data_dir {tmp_path} holds no CIFAR-10") and "--set data_dir=DIR" in line
    assert "--data-dir" not in line and "--dataset" not in line and "--set dataset=digits" in line
