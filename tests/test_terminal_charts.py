"""The terminal charts show every series (issue #25 section 3): frozen's curve is finetune's head phase point
for point, and finetune, drawn after it, hid every one of frozen's markers."""

from __future__ import annotations

from events_factory import run_started, strategy_events
from test_app import until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.live import RunViewScreen
from cifar_tui.app.widgets.curves import CurvesPlot
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState
from cifar_tui.render.theme import STRATEGY_MARKERS

FROZEN_UNDER_FINETUNE = [
    run_started(strategies=("frozen", "finetune")),
    *strategy_events("frozen", epochs=2, accs=(0.6, 0.7), test_acc=0.7),
    *strategy_events("finetune", epochs=4, accs=(0.6, 0.7, 0.8, 0.85), phases=[("head", 2), ("finetune", 2)]),
    ev.RunFinished(status="finished", seconds=1.0)]


async def test_frozens_markers_show_over_finetunes_head_epochs(tmp_path):
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(RunViewScreen(RunState.from_events(FROZEN_UNDER_FINETUNE), title="coincident"))
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen) and app.screen.query(CurvesPlot))
        plot = app.screen.query_one(CurvesPlot)
        await until(pilot, lambda: "frozen" in plot.render().plain, timeout=5)
        lines = plot.render().plain.splitlines()
        legend = next(i for i, line in enumerate(lines) if "frozen" in line)
        marker = STRATEGY_MARKERS["frozen"]
        drawn = sum(line.count(marker) for i, line in enumerate(lines) if i != legend)
        assert drawn >= 2, plot.render().plain  # both epochs, each under finetune's until now
        assert "frozen (over finetune)" in lines[legend]
