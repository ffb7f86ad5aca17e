"""The Studies screen: a recorded study's grid, statistics and chart; enter opens a cell's run."""

from __future__ import annotations

import statistics

import pytest
from events_factory import run_started, strategy_events
from test_app import until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.live import RunViewScreen
from cifar_tui.app.widgets.study_chart import StudyChart
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.recorder import RunRecorder
from cifar_tui.engine.study.record import new_record, save_record
from cifar_tui.engine.study.spec import parse_spec

SPEC = {"name": "demo-study", "title": "demo", "x": "train_fraction", "reference": "1.0",
        "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch", "finetune"]},
        "axes": {"train_fraction": [0.1, 1.0], "seed": [0, 1, 2]}}
# (scratch, finetune) test accuracy per cell, in grid order; NAN: finetune diverged; the last cell has not run
NAN = "loss became NaN at epoch 1, step 3 of the finetune phase (learning rate 0.001): try a smaller one"
ACCURACIES = [(0.30, 0.70), (0.34, 0.74), (0.31, 0.69), (0.60, 0.90), (0.62, NAN), None]


def rendered_text(renderable, width: int = 400) -> str:
    """A widget's Rich renderable as plain text, one long line per line (no wrapping at this width)."""
    from rich.console import Console

    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def record_study(runs_dir):
    spec = parse_spec(SPEC)
    record = new_record(spec)
    for cell, accs in zip(record.cells, ACCURACIES, strict=True):
        if accs is None:
            continue
        run_id = f"20270120-08000{cell.index}-demo-study-00{cell.index}-0000abc{cell.index}"
        recorder = RunRecorder(runs_dir, run_id)
        diverged = accs[1] == NAN
        finetune = [ev.StrategyFailed(strategy="finetune", error=NAN)] if diverged else strategy_events(
            "finetune", test_acc=accs[1])
        for e in [run_started(run_id, strategies=("scratch", "finetune")),
                  *strategy_events("scratch", test_acc=accs[0]), *finetune,
                  ev.RunFinished(status="failed" if diverged else "finished", seconds=5.0)]:
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
        await until(pilot, lambda: cells.row_count == 6)
        rows = [[str(cells.get_row_at(r)[c]) for c in range(5)] for r in range(6)]  # cell, status, 2 strategies, run
        assert rows[0][:4] == ["0.1 0", "finished", "30.0", "70.0"]  # values only: the axes name the column
        assert rows[0][4] == "demo…000-0000abc0"  # the run, shortened as the Runs screen does (was cut: "2027")
        assert [str(c.label) for c in cells.columns.values()][0] == "train_fraction seed"
        assert rows[4][1:4] == ["failed", "62.0", "NaN"]  # finetune diverged; scratch keeps its number
        assert rows[5][1] == "pending" and rows[5][2] == "-"
        stats = rendered_text(screen.query_one("#study-stats").content)
        assert stats.startswith("Verdict (study demo-study): Which conditions and strategies differ?")
        low = statistics.fmean([0.30, 0.34, 0.31]), statistics.stdev([0.30, 0.34, 0.31])
        assert f"{100 * low[0]:.1f} ± {100 * low[1]:.1f} (n=3)" in stats
        assert "train_fraction=1.0 (reference)" in stats
        assert "finetune  90.0 (n=1); diverged in 1 of 2 seeds" in stats
        # against the reference, paired by seed (seeds 0 and 1): -30 and -28 points; on 40 test images without
        # per-image predictions the test sample's error is bounded (tests/test_test_sample.py has the figures)
        assert ("scratch: train_fraction=0.1 - train_fraction=1.0: -29.0 pts, 95% CI [-58.5, +0.5], p=0.054, "
                "Holm p=0.070: not significant at 95% (seeds + test bound: 2 seeds x 40 test images") in stats
        assert ("finetune: train_fraction=0.1 - train_fraction=1.0: -20.0 pts, 95% CI [-38.6, -1.4], p=0.035, "
                "Holm p=0.070: 1 seed: the test set cannot tell them apart") in stats
        assert "1 diverged seed(s) left out" in stats
        chart = screen.query_one(StudyChart).render().plain
        assert "scratch" in chart and "finetune" in chart
        cells.focus()
        cells.move_cursor(row=3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen))
        assert app.screen.dashboard.state.strategies["finetune"].test_accuracy == pytest.approx(0.90)


def test_studies_screen_snapshot(snap_compare, tmp_path):
    record_study(tmp_path)

    async def settle(pilot):
        await pilot.press("y")
        cells = pilot.app.screen.query_one("#cells-table")
        await until(pilot, lambda: cells.row_count == 6)
        await pilot.pause(0.3)

    assert snap_compare(CifarTuiApp(tmp_path), terminal_size=(120, 36), run_before=settle)


async def test_a_cell_whose_run_cannot_be_read_is_a_notification_not_a_crash(tmp_path):
    import json

    from cifar_tui.engine.store import paths

    record_study(tmp_path)
    first = sorted(p for p in tmp_path.iterdir() if p.name.startswith("2027"))[0]
    summary = json.loads((first / paths.SUMMARY_FILE).read_text())
    (first / paths.SUMMARY_FILE).write_text(json.dumps(summary | {"format_version": 99}))
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("y")
        cells = app.screen.query_one("#cells-table")
        await until(pilot, lambda: cells.row_count == 6)
        cells.focus()
        cells.move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: any("newer cifar-tui" in n.message for n in app._notifications))
        assert not isinstance(app.screen, RunViewScreen)
