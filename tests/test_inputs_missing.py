"""Offline with neither CIFAR-10 nor the ImageNet weights: one error names both, in one line on the command
line and in one dialog in the app, whose way out changes both (a reviewer met two dialogs, one after the
other: the weights', then, once answered, the data set's)."""

from __future__ import annotations

import urllib.request

import pytest
from test_app import until
from textual.widgets import Button, Static
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.dialogs import StartFailed
from cifar_tui.cli.main import app as cli
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import InputsMissing, WeightsError
from cifar_tui.engine.run.runner import check_inputs


@pytest.fixture
def offline(monkeypatch, keras_home):
    def no_network(*_args, **_kwargs):
        raise OSError("no network here")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return keras_home


def test_both_missing_is_one_error_naming_both(offline):
    with pytest.raises(InputsMissing) as caught:
        check_inputs(ExperimentConfig())
    data, weights = caught.value.reasons
    assert data.startswith("CIFAR-10 is not in") and "--data-dir" in data
    assert weights.startswith("ImageNet weights for EfficientNetB0 are not in") and "--weights none" in weights


def test_only_the_weights_missing_stays_the_weights_error(offline):
    with pytest.raises(WeightsError) as caught:
        check_inputs(ExperimentConfig(dataset="digits"))
    assert not isinstance(caught.value, InputsMissing)


def test_the_command_line_says_both_in_one_line(offline, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    error = [line for line in result.output.splitlines() if "error" in line]
    assert len(error) == 1 and "CIFAR-10 is not in" in error[0] and "ImageNet weights" in error[0]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_app_asks_once_and_its_way_out_changes_both(offline, tmp_path, size):
    started = []

    def engine(config, runs_dir, sink, stop_event, run_id):  # the real checks, then no training
        check_inputs(config)
        started.append(config)

    app = CifarTuiApp(tmp_path, start=ExperimentConfig(), engine=engine)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartFailed))
        message = str(app.screen.query_one("#start-failed-message", Static).render())
        assert "CIFAR-10 is not in" in message and "ImageNet weights" in message
        await pilot.pause(0.1)  # let the dialog lay out before clicking
        await pilot.click("#offline")
        await until(pilot, lambda: started)
        assert (started[0].dataset, started[0].weights) == ("digits", "none")
        assert not isinstance(app.screen, StartFailed)
        assert app.screen.query(Button)  # the Live screen, no second dialog


async def test_a_refused_start_shows_no_verdict_and_says_its_error_once(offline, tmp_path):
    """The engine ends a refused run "failed" before it raises: the app drew a verdict of that run (computed in
    a worker, shown after the app had cleared the run's id) and logged the error twice."""
    from cifar_tui.app.widgets.verdict import WAITING, VerdictView

    app = CifarTuiApp(tmp_path, start=ExperimentConfig())  # the real engine: record_and_run
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartFailed))
        await pilot.pause(0.1)
        await pilot.click("#close")
        await pilot.pause(1.0)  # time for a late verdict to arrive
        verdict = app.screen.query_one(VerdictView)
        assert verdict.verdict is None and WAITING in str(verdict.content)
        errors = [text for level, text in app.live_state.log if level == "error"]
        assert len(errors) == 1 and "CIFAR-10 is not in" in errors[0] and "ImageNet weights" in errors[0]
        assert not list(tmp_path.glob("2*"))  # nothing recorded
