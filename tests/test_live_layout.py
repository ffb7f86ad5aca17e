"""The Live screen's layout with every strategy of the study (pilot test, scripted engine)."""

from __future__ import annotations

from app_harness import ScriptedEngine
from events_factory import run_started, strategy_events
from test_app import until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.widgets.progress_panel import ProgressPanel, StrategyRow
from cifar_tui.engine.config.choices import STRATEGIES
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run import events as ev


async def test_every_strategys_progress_row_is_on_screen_in_the_wide_layout(tmp_path):
    """The panel's height held three rows: the probe's, the fourth, was cut off below 140x45's border."""
    events = [run_started(strategies=STRATEGIES), *[e for name in STRATEGIES for e in strategy_events(name)],
              ev.RunFinished(status="finished", seconds=1.0)]
    app = CifarTuiApp(tmp_path, start=ExperimentConfig(dataset="digits", weights="none"),
                      engine=ScriptedEngine(events))
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.live_state.status == "finished")
        await pilot.pause(0.3)
        panel = app.screen.query_one(ProgressPanel)
        rows = list(panel.query(StrategyRow))
        assert [row.strategy for row in rows] == list(STRATEGIES)
        visible = panel.content_region
        assert all(visible.contains_region(row.region) for row in rows)
