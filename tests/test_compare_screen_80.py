"""The Compare screen at 80x24 (pilot tests): every strategy's plot marker named, the probe's too, and the
test accuracy on screen."""

from __future__ import annotations

from events_factory import full_run, run_started, strategy_events
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.compare import CompareCurves, CompareScreen
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState

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
        assert [str(c.label) for c in columns][-3:] == ["test±SE", "epochs", "time"]  # data, params, img/s left out
        assert sum(c.get_render_width(table) for c in columns) <= table.size.width  # every column whole
        # (epochs was cut to "ep")


def test_the_legend_lists_only_strategies_the_runs_have():
    from cifar_tui.app.screens.compare import strategy_legend

    assert "probe" not in strategy_legend([(WITHOUT_PROBE, RunState.from_events(full_run(WITHOUT_PROBE)))])


def runs_differing_in(keys: int) -> list[tuple[str, RunState]]:
    """Two finished runs whose configs differ in `keys` keys."""
    runs = []
    for index, run_id in enumerate((WITHOUT_PROBE, "20270116-080000-beta-0002")):
        state = RunState.from_events(full_run(run_id))
        state.config.update({f"knob_{k}": 10 * index + k for k in range(keys)})
        runs.append((run_id, state))
    return runs


async def test_many_differing_keys_scroll_and_leave_the_plot_its_height(tmp_path):
    """8 differing config keys at 80x24 took 12 rows and left the plot one row of data; the diff now takes
    at most a quarter of the screen and scrolls to its last key."""
    runs = runs_differing_in(8)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(CompareScreen(runs))
        await pilot.pause(0.3)
        assert app.screen.query_one(CompareCurves).region.height >= 8
        assert app.screen.query_one("#compare-table").region.height >= 3  # header and rows still on screen
        diff = app.screen.query_one("#compare-diff")
        title = str(app.screen.query_one("#compare-diff-title", Static).render())
        assert title == "config: only the 8 keys that differ"  # says there is more than it shows
        assert app.screen.focused is app.screen.query_one("#compare-table")  # its rows are what e / x open
        unfocused = diff.styles.background
        diff.focus()
        await pilot.pause(0.1)
        assert diff.has_focus and diff.styles.background != unfocused  # tabbed to: the user can see where
        await pilot.press("pagedown", "pagedown")
        await pilot.pause(0.1)
        assert diff.scroll_y > 0 and diff.scroll_y == diff.max_scroll_y  # the last keys are reachable
        # scrolled, the header still names the runs (it scrolled away with the keys, leaving bare columns)
        screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        header = next(line for line in screen.splitlines() if " key " in f" {line} ")
        assert "demo-abcd" in header and "beta-0002" in header and "knob_7" in screen, screen


async def test_at_80x24_the_diff_shows_keys_and_no_legend_covers_the_curves(tmp_path):
    """With 12 differing keys the diff showed its wrapped title and header and no key, and plotext's legend
    (a label per run and strategy) covered the left of the six data rows; the legend line now names each run
    in its colour, and the plot has no labels of its own."""
    runs = runs_differing_in(12)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(CompareScreen(runs))
        await pilot.pause(0.3)
        screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        plot = app.screen.query_one(CompareCurves).render().plain
        legend = app.screen.query_one("#compare-legend", Static).render()
    assert "knob_0" in screen and "knob_1" in screen, screen  # keys on screen, not only the title
    assert "demo-abcd" not in plot and "beta-0002" not in plot, plot
    legend = str(legend)
    assert "━ demo-abcd" in legend and "━ beta-0002" in legend


def test_a_narrow_legend_wraps_between_items_never_inside_one():
    """Three long run names at 80 columns wrapped the line inside an item ("... ⢕ scratch  •" / "frozen")."""
    import io

    from rich.console import Console

    from cifar_tui.app.screens.compare import strategy_legend

    ids = [f"20261129-1{i}0000-vstudy-00{i}-bd877a8{i}" for i in range(3)]
    runs = [(run_id, RunState.from_events(full_run(run_id))) for run_id in ids]
    console = Console(file=io.StringIO(), width=60)
    console.print(strategy_legend(runs, 58))  # the screen's 60 columns less the line's padding
    lines = [line.rstrip() for line in console.file.getvalue().splitlines() if line.strip()]
    assert max(len(line) for line in lines) <= 58, lines
    assert len(lines) > 1, lines  # it does wrap at this width
    assert not any(line.endswith(("━", "⢕", "•", "+", "o", "|")) for line in lines), lines
    assert not any(line.lstrip().startswith(("scratch", "frozen", "finetune", "vstudy")) for line in lines), lines


async def test_config_values_are_shown_as_written_not_as_markup(tmp_path):
    """A DataTable reads a plain str cell as markup: "[/x]" in a path raised MarkupError, "[b]" vanished."""
    runs = runs_differing_in(0)
    for index, (_, state) in enumerate(runs):
        state.config["data_dir"] = f"/data/[b]cifar[/x]-{index}"
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(CompareScreen(runs))
        await pilot.pause(0.3)
        table = app.screen.query_one("#compare-diff", DataTable)
        cells = [str(table.get_cell_at(Coordinate(0, column))) for column in (1, 2)]
        screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
    assert cells == ["/data/[b]cifar[/x]-0", "/data/[b]cifar[/x]-1"]
    assert "/data/[b]cifar[/x]-0" in screen, screen
