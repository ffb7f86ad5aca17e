"""The New run form after a run that fell back (`make run` offline): it showed CIFAR-10 / imagenet while
Start used digits / random init again, unseen (issue #25 section 6). It now shows what will run."""

from __future__ import annotations

from app_harness import ScriptedEngine
from events_factory import run_started
from test_app import until
from textual.widgets import Input, Select

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.new_run import NewRunScreen
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run.state import RunState

OFFLINE = ExperimentConfig(dataset="cifar10", weights="imagenet", allow_fallback=True)  # `make run`


def fell_back() -> RunState:
    started = run_started()
    started.config = OFFLINE.to_dict()
    started.dataset = {**started.dataset, "name": "digits", "substituted_for": "cifar10"}
    started.weights = {"requested": "imagenet", "path": None, "label": "random init", "pretrained": False}
    return RunState.from_events([started])


async def test_the_form_shows_and_starts_what_the_last_run_fell_back_to(tmp_path):
    engine = ScriptedEngine()
    app = CifarTuiApp(tmp_path, engine=engine)
    app.last_config, app.live_state = OFFLINE, fell_back()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunScreen))
        await pilot.pause(0.05)
        assert app.screen.query_one("#dataset", Select).value == "digits"
        assert app.screen.query_one("#weights", Input).value == "none"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(engine.configs) == 1)
    started = engine.configs[0]
    assert (started.dataset, started.weights, started.allow_fallback) == ("digits", "none", False)
