"""The New run form's backend field: an unusable KERAS_BACKEND (`KERAS_BACKEND=foo cifar-tui`) is shown as the
reason and a backend chosen in the form starts the run (the form had no such field: nothing could start);
a backend other than the one Keras already runs on in this process is refused in the engine's one line."""

from __future__ import annotations

from app_harness import ScriptedEngine
from test_app import until
from textual.widgets import Button, Label, Select

import cifar_tui.engine.runtime.backend
from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.new_run import NewRunScreen


async def open_form(pilot, app) -> NewRunScreen:
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, NewRunScreen))
    await pilot.pause(0.05)
    return app.screen


def form_state(form) -> tuple[str, bool]:
    return str(form.query_one("#form-error", Label).render()), form.query_one("#start", Button).disabled


async def test_an_invalid_keras_backend_is_the_reason_and_the_form_can_choose_another(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "foo")
    # a fresh process: Keras not loaded
    monkeypatch.setattr(cifar_tui.engine.runtime.backend, "loaded_backend", lambda: None)
    app_engine = ScriptedEngine()
    app = CifarTuiApp(tmp_path, engine=app_engine)
    async with app.run_test(size=(100, 40)) as pilot:
        form = await open_form(pilot, app)
        message, disabled = form_state(form)
        assert "KERAS_BACKEND=foo" in message and "unknown backend 'foo'" in message and disabled
        form.query_one("#backend", Select).value = "tensorflow"
        await pilot.pause(0.05)
        message, disabled = form_state(form)
        assert not disabled, message
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(app_engine.configs) == 1)
    assert app_engine.configs[0].backend == "tensorflow"


async def test_a_backend_keras_cannot_switch_to_is_refused_in_one_line(tmp_path, monkeypatch):
    # after a TensorFlow run
    monkeypatch.setattr(cifar_tui.engine.runtime.backend, "loaded_backend", lambda: "tensorflow")
    app = CifarTuiApp(tmp_path, engine=ScriptedEngine())
    async with app.run_test(size=(100, 40)) as pilot:
        form = await open_form(pilot, app)
        assert form.query_one("#backend", Select).value == "tensorflow" and not form_state(form)[1]
        form.query_one("#backend", Select).value = "jax"
        await pilot.pause(0.05)
        message, disabled = form_state(form)
        assert disabled and message == cifar_tui.engine.runtime.backend.switch_refusal("jax")


async def test_the_reason_wraps_at_80_columns(tmp_path, monkeypatch):
    """The one-line reason was cut at the form's width ('KERAS_BACKEND=foo in the environment')."""
    monkeypatch.setenv("KERAS_BACKEND", "foo")
    monkeypatch.setattr(cifar_tui.engine.runtime.backend, "loaded_backend", lambda: None)
    app = CifarTuiApp(tmp_path, engine=ScriptedEngine())
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot, app)
        error = form.query_one("#form-error", Label)
        error.scroll_visible()
        await pilot.pause(0.05)
        shown = " ".join(line.text.strip() for line in error.render_lines(error.region.reset_offset))
        assert error.size.height > 1 and "choose from tensorflow, jax, torch" in shown, shown
