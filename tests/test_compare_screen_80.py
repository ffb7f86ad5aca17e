"""The Compare screen at 80x24 (pilot tests): every strategy's plot marker named, the probe's too, and the
test accuracy on screen."""

from __future__ import annotations

from events_factory import full_run, run_started, strategy_events
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from engine import events as ev
from engine.state import RunState
from tui.app import CifarTuiApp
from tui.screens.compare import CompareCurves, CompareScreen

WITH_PROBE = "20270116-090000-probe-0001"
WITHOUT_PROBE = "20270115-080000-demo-abcd"


def probe_run() -> RunState:
    return RunState.from_events([run_started(WITH_PROBE, strategies=("scratch", "probe")),
                                 *strategy_events("scratch"), *strategy_events("probe", test_acc=0.85),
                                 ev.RunFinished(status="finished", seconds=1.0)])


async def test_the_legend_names_each_strategys_marker_including_the_probe(tmp_path):
    runs = [(WITH_PROBE, probe_run()), (WITHOUT_PROBE, RunState.from_events(full_run(WITHOUT_PROBE)))]
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(CompareScreen(runs))
        await pilot.pause(0.3)
        legend = str(app.screen.query_one("#compare-legend", Static).render())
        for entry in ("⢕ scratch", "• frozen", "+ finetune", "o probe"):
            assert entry in legend
        legend_row = app.screen.query_one("#compare-legend").region
        assert legend_row.height >= 1 and legend_row.right <= 80  # on screen at 80 columns
        plot = app.screen.query_one(CompareCurves).render().plain
        assert "1.50" not in plot  # whole epochs on the x axis
        table = app.screen.query_one("#compare-table", DataTable)
        assert str(table.get_cell_at(Coordinate(0, 0))) == "probe-0001"  # as the legend and the diff name it
        columns = table.ordered_columns
        through_test = columns[: [str(c.label) for c in columns].index("test±SE") + 1]
        assert sum(c.get_render_width(table) for c in through_test) <= table.size.width  # test accuracy on screen


def test_the_legend_lists_only_strategies_the_runs_have():
    from tui.screens.compare import strategy_legend

    assert "probe" not in strategy_legend([(WITHOUT_PROBE, RunState.from_events(full_run(WITHOUT_PROBE)))])
