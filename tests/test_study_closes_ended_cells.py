"""A study cell whose run was recorded stopped although every strategy had finished (a SIGTERM after the last
one, before this was fixed) is closed as finished when the study runs again, never trained again from
scratch (it was a "new" cell: its result thrown away and the run repeated)."""

from __future__ import annotations

from events_factory import run_started, strategy_events
from test_study import TINY
from typer.testing import CliRunner

from cifar_tui.cli.main import app
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.reader import list_runs
from cifar_tui.engine.store.recorder import RunRecorder
from cifar_tui.engine.study.record import load_record, new_record, save_record
from cifar_tui.engine.study.runner import run_study
from cifar_tui.engine.study.spec import load_spec, parse_spec


def record_cells(runs, spec, ended_cell: int) -> list[str]:
    """Every cell's run finished (scratch tested), but `ended_cell`'s was then recorded interrupted."""
    record = new_record(spec)
    ids = []
    for i, cell in enumerate(record.cells):
        run_id = f"20270115-08000{i}-cell-000{i}"
        cell.run_ids.append(run_id)
        ids.append(run_id)
        recorder = RunRecorder(runs, run_id)
        stop = ev.RunFinished(status="interrupted", seconds=7.0, error="stopped by SIGTERM") if i == ended_cell \
            else ev.RunFinished(status="finished", seconds=7.0)
        for event in [run_started(run_id, strategies=("scratch",)), *strategy_events("scratch"), stop]:
            recorder(event)
        recorder.close()
    save_record(runs, record)
    return ids


def test_the_dry_run_says_it_will_close_the_cell_and_running_the_study_closes_it(tmp_path):
    spec_file = tmp_path / "tiny.toml"  # TINY as a file
    spec_file.write_text('name = "tiny"\nx = "train_fraction"\n[base]\npreset = "custom"\ndataset = "digits"\n'
                         'strategies = ["scratch"]\nscratch_epochs = 1\nbatch_size = 32\ntest_limit = 50\n'
                         '[axes]\ntrain_fraction = [0.2, 0.4]\nseed = [0, 1]\n')
    spec = parse_spec(TINY)
    assert load_spec(str(spec_file)).fingerprint() == spec.fingerprint()
    runs = tmp_path / "runs"
    ids = record_cells(runs, spec, ended_cell=1)
    plan = CliRunner().invoke(app, ["study", str(spec_file), "--dry-run", "--runs-dir", str(runs)])
    assert plan.exit_code == 0, plan.output
    assert "cell 2/" in plan.output and "close (every strategy had finished" in plan.output, plan.output
    assert {r.run_id: r.status for r in list_runs(runs)}[ids[1]] == "interrupted"  # a dry run writes nothing

    outcomes = run_study(spec, runs, redirect_native_log=False)
    assert [(o.action, o.status) for o in outcomes] == [("skipped", "finished")] * len(spec.cells())
    assert {r.run_id: r.status for r in list_runs(runs)} == dict.fromkeys(ids, "finished")  # closed, no new run
    assert load_record(runs, spec.name).cells[1].run_ids == [ids[1]]


def test_studies_show_keeps_its_title_on_one_line(tmp_path):
    """A one-strategy study's table is narrower than its title, which Rich wrapped: "(2/2 cells" / "finished)"."""
    runs = tmp_path / "runs"
    record_cells(runs, parse_spec({**TINY, "title": "scratch against its training fraction"}),
                 ended_cell=-1)
    shown = CliRunner().invoke(app, ["studies", "show", "tiny", "--runs-dir", str(runs)], env={"COLUMNS": "80"})
    assert shown.exit_code == 0, shown.output
    title = next(line for line in shown.output.splitlines() if line.startswith("study tiny"))  # after the verdict
    assert title.rstrip() == "study tiny: scratch against its training fraction (4/4 cells finished)", shown.output
