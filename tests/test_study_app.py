"""The Studies screen: a recorded study's grid, statistics and chart; enter opens a cell's run."""

from __future__ import annotations

import statistics

import pytest
from events_factory import run_started, strategy_events
from test_app import until

from engine import events as ev
from engine.store.recorder import RunRecorder
from engine.study.record import new_record, save_record
from engine.study.spec import parse_spec
from tui.app import CifarTuiApp
from tui.screens.live import RunViewScreen
from tui.widgets.study_chart import StudyChart

SPEC = {"name": "demo-study", "title": "demo", "x": "train_fraction",
        "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch", "finetune"]},
        "axes": {"train_fraction": [0.1, 1.0], "seed": [0, 1]}}
# (scratch, finetune) test accuracy per cell, in grid order; the last cell has not run yet
ACCURACIES = [(0.30, 0.70), (0.34, 0.74), (0.60, 0.90), None]


def record_study(runs_dir):
    spec = parse_spec(SPEC)
    record = new_record(spec)
    for cell, accs in zip(record.cells, ACCURACIES, strict=True):
        if accs is None:
            continue
        run_id = f"20270120-08000{cell.index}-demo-study-00{cell.index}-0000abc{cell.index}"
        recorder = RunRecorder(runs_dir, run_id)
        for e in [run_started(run_id, strategies=("scratch", "finetune")),
                  *strategy_events("scratch", test_acc=accs[0]), *strategy_events("finetune", test_acc=accs[1]),
                  ev.RunFinished(status="finished", seconds=5.0)]:
            recorder(e)
        recorder.close()
        cell.run_ids.append(run_id)
    save_record(runs_dir, record)


async def test_studies_screen_shows_grid_statistics_and_chart_and_opens_a_cell(tmp_path):
    record_study(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("y")
        screen = app.screen
        cells = screen.query_one("#cells-table")
        await until(pilot, lambda: cells.row_count == 4)
        rows = [[str(cells.get_row_at(r)[c]) for c in range(5)] for r in range(4)]  # cell, status, 2 strategies, run
        assert rows[0][:4] == ["train_fraction=0.1 seed=0", "finished", "30.0", "70.0"]
        assert rows[3][1] == "pending" and rows[3][2] == "-"
        stats = str(screen.query_one("#study-stats").render())
        low = statistics.fmean([0.30, 0.34]), statistics.stdev([0.30, 0.34])
        assert f"{100 * low[0]:.1f} ± {100 * low[1]:.1f} (n=2)" in stats
        assert "finetune - scratch: +40.0 ± 0.0 pts (n=2" in stats
        assert "n=1" in stats  # the condition with one finished seed says so
        chart = screen.query_one(StudyChart).render().plain
        assert "scratch" in chart and "finetune" in chart
        cells.focus()
        cells.move_cursor(row=2)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen))
        assert app.screen.dashboard.state.strategies["finetune"].test_accuracy == pytest.approx(0.90)


def test_studies_screen_snapshot(snap_compare, tmp_path):
    record_study(tmp_path)

    async def settle(pilot):
        await pilot.press("y")
        cells = pilot.app.screen.query_one("#cells-table")
        await until(pilot, lambda: cells.row_count == 4)
        await pilot.pause(0.3)

    assert snap_compare(CifarTuiApp(tmp_path), terminal_size=(120, 36), run_before=settle)


async def test_a_cell_whose_run_cannot_be_read_is_a_notification_not_a_crash(tmp_path):
    import json

    from engine.store import paths

    record_study(tmp_path)
    first = sorted(p for p in tmp_path.iterdir() if p.name.startswith("2027"))[0]
    summary = json.loads((first / paths.SUMMARY_FILE).read_text())
    (first / paths.SUMMARY_FILE).write_text(json.dumps(summary | {"format_version": 99}))
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("y")
        cells = app.screen.query_one("#cells-table")
        await until(pilot, lambda: cells.row_count == 4)
        cells.focus()
        cells.move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: any("newer cifar-tui" in n.message for n in app._notifications))
        assert not isinstance(app.screen, RunViewScreen)
