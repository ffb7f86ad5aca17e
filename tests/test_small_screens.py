"""What a user sees on small and colourless terminals (issue #25 section 6): at 80 columns the footers keep
the keys that go elsewhere (Compare, Live and Studies fell off the Runs screen's), the Runs screen explains
its `digits*`, Compare tells runs apart without colour, and a terminal too small says so."""

from __future__ import annotations

from events_factory import full_run, record_runs
from test_app import open_runs_screen, until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.compare import CompareCurves, CompareScreen
from cifar_tui.app.widgets.curves import CurvesPlot
from cifar_tui.app.widgets.plot_room import too_small
from cifar_tui.engine.store.reader import load_run
from cifar_tui.engine.store.recorder import RunRecorder

RUNS = ["20270115-080000-alpha-0001", "20270116-080000-beta-0002"]


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def record_substituted(runs_dir, run_id=RUNS[0]):
    recorder = RunRecorder(runs_dir, run_id)
    for event in full_run(run_id):
        if event.type == "run_started":
            event.notices = ["DIGITS USED INSTEAD OF CIFAR-10: offline"]
        recorder(event)
    recorder.close()


async def test_at_80_columns_the_footers_keep_compare_live_and_studies(tmp_path):
    record_substituted(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        footer = screen_text(app).splitlines()[-1]
        assert "r Runs" in footer and "y Studies" in footer, footer
        await open_runs_screen(pilot, 1)
        await until(pilot, lambda: "Compare" in screen_text(app))
        lines = [line for line in screen_text(app).splitlines() if line.strip()]
        assert all(key in lines[-1] for key in ("c Compare", "l Live", "y Studies")), lines[-1]
        assert "* = substitute data or weights used" in lines[-2]  # the legend of "cifar10*"


async def test_compare_tells_runs_apart_without_colour(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    record_runs(tmp_path, RUNS)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(CompareScreen([(r, load_run(tmp_path, r).state) for r in RUNS]))
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.query(CompareCurves))
        plot = app.screen.query_one(CompareCurves)
        await until(pilot, lambda: plot._version > 0)
        legend = str(app.screen.query_one("#compare-legend").render())
        assert "1━ alpha-0001" in legend and "2━ beta-0002" in legend
        drawn = "\n".join(plot.render().plain.splitlines()[1:-2])  # the canvas, not its title or axis
        assert "1" in drawn.replace("1.00", "") and "2" in drawn  # each run's number at its curves' ends


async def test_a_terminal_too_small_says_so(tmp_path):
    record_runs(tmp_path, RUNS[:1])
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause(0.3)
        assert any("terminal too small: 40x12" in n.message for n in app._notifications)
        from cifar_tui.app.screens.live import RunViewScreen

        app.push_screen(RunViewScreen(load_run(tmp_path, RUNS[0]).state, title="small"))
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen) and app.screen.query(CurvesPlot))
        plot = app.screen.query_one(CurvesPlot)
        await pilot.pause(0.3)
        if plot.size.height:  # shown at all: the message, never a garbled chart
            assert "terminal too small for this chart" in plot.render().plain
        assert too_small(plot) is not None
