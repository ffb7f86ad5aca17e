"""A study cell whose configuration cannot run on its data is a failed cell with its reason; the others run,
and `study --dry-run` says so up front. No training here: the runs are faked (the split check is real)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cifar_tui.engine.errors import ConfigError
from cifar_tui.engine.run.session import RunOutcome
from cifar_tui.engine.study.record import load_record
from cifar_tui.engine.study.runner import run_study
from cifar_tui.engine.study.spec import parse_spec
from cifar_tui.engine.study.stats import cell_results

# digits: 1,437 training images, its smallest class 125 after the validation split
SPEC = {"name": "few", "x": "train_size",
        "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch"], "scratch_epochs": 1},
        "axes": {"train_size": ["200/class", "5/class"], "seed": [0]}}
TOO_MANY = "200 training images per class asked, but the smallest class has only 125 after the validation split"


@pytest.fixture
def fake_runs(monkeypatch):
    """record_and_run without TensorFlow: a finished run folder per call; `fail` makes a call refuse."""
    calls, fail = [], []

    def record_and_run(config, runs_dir, display=None, stop_event=None, run_id=None, redirect_native_log=True):
        calls.append(config)
        if fail:
            raise ConfigError(fail.pop())
        (runs_dir / run_id).mkdir(parents=True)
        summary = {"status": "finished", "strategies": {"scratch": {"status": "finished", "test_accuracy": 0.5}}}
        (runs_dir / run_id / "summary.json").write_text(json.dumps(summary))
        return RunOutcome(run_id, runs_dir / run_id, summary)

    monkeypatch.setattr("cifar_tui.engine.run.session.record_and_run", record_and_run)
    return calls, fail


def test_a_cell_too_big_for_its_data_fails_with_its_reason_and_the_others_run(tmp_path, fake_runs):
    calls, _ = fake_runs
    outcomes = run_study(parse_spec(SPEC), tmp_path)
    assert [(o.action, o.status) for o in outcomes] == [("refused", "failed"), ("new", "finished")]
    assert [c.train_per_class for c in calls] == [5]  # the refused cell never started a run
    record = load_record(tmp_path, "few")
    assert record.cells[0].refused == TOO_MANY and record.cells[0].run_ids == []
    first = cell_results(record, tmp_path)[0]
    assert (first.status, first.reason) == ("failed", TOO_MANY)


def test_a_cell_its_real_data_refuses_at_run_time_fails_and_the_study_goes_on(tmp_path, fake_runs):
    calls, fail = fake_runs
    fail.append("only 3 training images per class in this copy")  # a --data-dir smaller than the real set
    spec = parse_spec({**SPEC, "axes": {"train_size": ["5/class", "10/class"], "seed": [0]}})
    outcomes = run_study(spec, tmp_path)
    assert [(o.action, o.status) for o in outcomes] == [("refused", "failed"), ("new", "finished")]
    assert len(calls) == 2
    record = load_record(tmp_path, "few")
    assert record.cells[0].run_ids == [] and record.cells[0].refused.startswith("only 3 training images")


def test_dry_run_flags_the_cells_that_will_fail_and_show_names_the_reason(tmp_path, fake_runs):
    from cifar_tui.cli.main import app

    spec_file = tmp_path / "few.toml"
    spec_file.write_text('name = "few"\nx = "train_size"\n[base]\npreset = "custom"\ndataset = "digits"\n'
                         'strategies = ["scratch"]\n[axes]\ntrain_size = ["200/class", "5/class"]\nseed = [0]\n')
    runner = CliRunner()
    dry = runner.invoke(app, ["study", str(spec_file), "--dry-run", "--runs-dir", str(tmp_path / "runs")])
    assert dry.exit_code == 0, dry.output
    assert [line for line in dry.output.splitlines() if line.startswith("cell ")] == [
        f"cell 1/2 train_size=200/class seed=0: will fail: {TOO_MANY}", "cell 2/2 train_size=5/class seed=0: run"]
    run_study(parse_spec(SPEC), tmp_path / "runs")
    shown = runner.invoke(app, ["studies", "show", "few", "--runs-dir", str(tmp_path / "runs")])
    assert f"cell 1 train_size=200/class seed=0: failed, {TOO_MANY}" in shown.output.replace("\n", " ")


def test_parallel_studies_refuse_such_a_cell_without_starting_a_child(tmp_path, monkeypatch):
    from cifar_tui.engine.study import parallel

    monkeypatch.setattr(parallel, "_launch", lambda *args: pytest.fail("a child was started for a refused cell"))
    spec = parse_spec({**SPEC, "axes": {"train_size": ["200/class", "300/class"], "seed": [0]}})
    outcomes = parallel.run_study_parallel(spec, tmp_path, parallel=2, gpus=[])
    assert [(o.action, o.status) for o in outcomes] == [("refused", "failed")] * 2
    assert [c.refused.split(",")[0] for c in load_record(tmp_path, "few").cells] == [
        "200 training images per class asked", "300 training images per class asked"]


def test_a_child_that_refused_its_cell_is_read_from_its_log(tmp_path):
    from cifar_tui.engine.study.parallel import _refused_by_child

    log = tmp_path / "cell-000.log"
    log.write_text("some TensorFlow noise\ncifar-tui: error: only 3 training images per class in this copy\n")
    assert _refused_by_child(tmp_path, "20270101-000000-few-000-abc", str(log)) == (
        "only 3 training images per class in this copy")
    (tmp_path / "20270101-000000-few-000-abc").mkdir()  # a run was made: its own status tells
    assert _refused_by_child(tmp_path, "20270101-000000-few-000-abc", str(log)) == ""


def test_slurm_submits_no_task_for_such_a_cell(tmp_path, monkeypatch):
    from cifar_tui.engine.study import slurm

    monkeypatch.setattr(slurm, "slurm_queue", lambda: {})  # an empty queue, no cluster needed
    monkeypatch.setattr(slurm, "check_shared_folder", lambda runs_dir: None)
    submitted_cells = []
    monkeypatch.setattr(slurm, "_submit", lambda study, folder, runs_dir, options, todo: submitted_cells.extend(
        cell.index for cell, *_ in todo) or [])
    spec = parse_spec({**SPEC, "axes": {"train_size": ["200/class"], "seed": [0]}})
    out = slurm.submit_study(spec, tmp_path, slurm.SlurmOptions.from_sources({}, {}))
    assert submitted_cells == [] and [(s.action, s.state) for s in out] == [("refused", f"failed, {TOO_MANY}")]
    assert load_record(tmp_path, "few").cells[0].refused == TOO_MANY


def test_the_exported_report_names_a_refused_cells_reason_without_an_empty_run(tmp_path, fake_runs):
    """A refused cell never had a run: its 'Failed cells' line ended in '(run )'."""
    from cifar_tui.cli.main import app

    run_study(parse_spec(SPEC), tmp_path / "runs")
    result = CliRunner().invoke(app, ["studies", "export", "few", "--out", str(tmp_path / "out"),
                                      "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "out" / "report.md").read_text()
    line = next(line for line in report.splitlines() if line.startswith("- cell 1 "))
    assert line == f"- cell 1 train_size=200/class seed=0: failed - {TOO_MANY}"


def test_a_study_whose_remaining_cells_need_two_backends_is_refused_before_any_runs(tmp_path, fake_runs,
                                                                                    monkeypatch):
    """One process keeps the backend Keras first loaded (#14): a cancelled TensorFlow cell and a new JAX cell
    cannot both run in it. Refused in one line, nothing started; --parallel is the way (a process per cell)."""
    from types import SimpleNamespace

    calls, _ = fake_runs
    spec = parse_spec({**SPEC, "base": {**SPEC["base"], "backend": "jax"},
                       "axes": {"train_size": ["5/class"], "seed": [0, 1]}})
    recorded = SimpleNamespace(config=spec.cells()[0].config.replace(backend="tensorflow"))
    decisions = iter([("resume", recorded), ("new", None)])  # cell 0 was cancelled on TensorFlow, cell 1 is new
    monkeypatch.setattr("cifar_tui.engine.study.runner.decide",
                        lambda runs_dir, run_id, retry_failed=False: next(decisions))
    resumed = []
    monkeypatch.setattr("cifar_tui.engine.run.session.resume_and_run", lambda *a, **k: resumed.append(a))
    with pytest.raises(ConfigError) as refused:
        run_study(spec, tmp_path)
    assert "two Keras backends (tensorflow for the cells to resume, jax for the cells to start)" in str(refused.value)
    assert "--parallel" in str(refused.value) and "\n" not in str(refused.value)
    assert not calls and not resumed
