"""A cancelled strategy shows the best validation accuracy of the epochs it finished, bracketed as never
tested, in the fold, `runs show`, `runs compare` and the app (it used to show "-")."""

from __future__ import annotations

import asyncio

from app_harness import ManualEngine
from events_factory import T0, record_runs, run_started, strategy_events
from test_app import until
from textual.coordinate import Coordinate
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.widgets.comparison import ComparisonTable
from cifar_tui.app.widgets.progress_panel import StrategyRow
from cifar_tui.cli.main import app as cli
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store.recorder import RunRecorder

RUN_ID = "20270115-080000-cancel-0001"


def cancelled_frozen(accs=(0.6, 0.8, 0.7), finished=2):
    """`frozen` stopped after `finished` of 3 epochs: epoch events, no Evaluated, status cancelled."""
    events = [e for e in strategy_events("frozen", accs=accs)
              if not isinstance(e, ev.Evaluated | ev.StrategyFinished) and getattr(e, "epoch", 0) <= finished]
    return [*events, ev.StrategyFinished(strategy="frozen", status="cancelled", seconds=3.0, trainable_params=100,
                                         total_params=1000, time=T0)]


def cancelled_run():
    return [run_started(RUN_ID), *strategy_events("scratch", test_acc=0.5), *cancelled_frozen(),
            ev.RunFinished(status="cancelled", seconds=9.0, time=T0)]


def test_the_fold_gives_a_cancelled_strategy_its_best_finished_epoch_and_no_test():
    frozen = RunState.from_events(cancelled_run()).strategies["frozen"]
    assert frozen.best_of_finished_epochs() == (2, 0.8)  # epoch 2's 80%, not the last epoch's 70%
    summary = frozen.summary()
    assert summary["best_of_finished_epochs"] == {"epoch": 2, "val_accuracy": 0.8}
    assert summary["test_accuracy"] is None and summary["best_val_accuracy"] is None  # never tested
    scratch = RunState.from_events(cancelled_run()).strategies["scratch"]
    assert scratch.best_of_finished_epochs() is None  # a finished strategy keeps its evaluated best


def test_runs_show_and_compare_bracket_a_cancelled_strategys_best_validation(tmp_path):
    recorder = RunRecorder(tmp_path, RUN_ID)
    for e in cancelled_run():
        recorder(e)
    recorder.close()
    record_runs(tmp_path, ["20270115-090000-full-0002"])
    shown = CliRunner().invoke(cli, ["runs", "show", RUN_ID, "--runs-dir", str(tmp_path)])
    row = next(line for line in shown.output.splitlines() if line.strip().startswith("frozen"))
    assert "cancelled" in row and "(80.0%@2)" in row, shown.output
    assert " 2/3 " in row, shown.output  # epochs finished of its budget, not the budget alone
    assert "not tested" in shown.output
    compared = CliRunner().invoke(cli, ["runs", "compare", RUN_ID, "20270115-090000-full-0002",
                                        "--runs-dir", str(tmp_path)])
    # at 80 columns runs are named as the Compare screen names them: cancel-0001
    row = next(line for line in compared.output.splitlines() if "cancel-0001" in line and "frozen" in line)
    assert "(80.0%@2)" in row and "cancelled" in row, compared.output


async def test_the_app_shows_a_cancelled_strategys_best_validation_so_far(tmp_path):
    engine = ManualEngine()
    app = CifarTuiApp(tmp_path, start=ExperimentConfig(dataset="digits", weights="none"), engine=engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, engine.started.is_set)
        engine.send([run_started(strategies=("frozen",)), *cancelled_frozen()])
        await until(pilot, lambda: getattr(app.live_state.strategies.get("frozen"), "status", "") == "cancelled")
        await pilot.pause(0.6)  # the panels redraw on a timer
        row = next(r for r in app.screen.query(StrategyRow) if r.strategy == "frozen")
        assert "val 80.0% @ ep 2, untested" in str(row.stats.render())
        table = app.screen.query_one(ComparisonTable)
        assert str(table.get_cell_at(Coordinate(0, 2))).strip() == "(80.0%@2)"
        # the app's table has no caption: its test cell says why it is empty
        assert str(table.get_cell_at(Coordinate(0, 3))).strip() == "untested"
        assert str(table.get_cell_at(Coordinate(0, 4))).strip() == "2/3"  # finished of its 3 epochs
        engine.stop_event.set()
        await asyncio.sleep(0)


def test_the_exported_report_says_the_best_validation_came_before_the_cancel(tmp_path):
    from cifar_tui.engine.report.export import export_run

    page = export_run(RunState.from_events(cancelled_run()), tmp_path / "r", "md").read_text()
    row = next(line for line in page.splitlines() if line.startswith("| frozen"))
    assert "80.0% (epoch 2, before it was cancelled)" in row, row
    assert "| 2 of 3 |" in row, row  # epochs finished of its budget
