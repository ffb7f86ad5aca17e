"""Snapshot tests of the Live screen at 80x24 and 140x45 (deterministic: scripted events, fixed ids).

Update after an intended change with `pytest tests/test_snapshots.py --snapshot-update` and review the
report; a layout change that was not intended fails here.
"""

from __future__ import annotations

import pytest
from app_harness import ScriptedEngine

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.widgets.dashboard import Dashboard
from cifar_tui.app.widgets.verdict import VerdictView
from cifar_tui.engine.config.config import ExperimentConfig

FIXED_ID = "20270115-080000-demo-abcd"


@pytest.fixture
def finished_app(tmp_path, monkeypatch):
    monkeypatch.setattr("cifar_tui.app.app.new_run_id", lambda name="": FIXED_ID)
    return CifarTuiApp(tmp_path, start=ExperimentConfig(dataset="digits", weights="none"), engine=ScriptedEngine())


async def wait_finished(pilot):
    app = pilot.app
    for _ in range(200):
        if app.live_state.status == "finished":
            break
        await pilot.pause(0.05)
    # the verdict is computed in a thread worker once the run has ended (it imports scipy): wait for it,
    # or the snapshot shows the placeholder on a fast machine and the verdict on a slow one
    verdict = app.screen.query_one(VerdictView)
    for _ in range(1200):
        if verdict.verdict is not None and verdict.size.height > 2:  # shown, and laid out past the placeholder
            break
        await pilot.pause(0.05)
    await settle(pilot)


async def settle(pilot):
    app = pilot.app
    app.clear_notifications()
    # The curves redraw on a timer at most twice a second: wait until no redraw is due (a fixed pause
    # was too short once on a loaded CI machine), then let the screen settle.
    dashboard = app.screen.query_one(Dashboard)
    for _ in range(200):
        if not dashboard._curves_due:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.7)  # progress bars redraw at most twice a second too
    await pilot.wait_for_scheduled_animations()


def test_live_screen_wide(snap_compare, finished_app):
    assert snap_compare(finished_app, terminal_size=(140, 45), run_before=wait_finished)


def test_live_screen_compact(snap_compare, finished_app):
    assert snap_compare(finished_app, terminal_size=(80, 24), run_before=wait_finished)


def test_live_screen_compact_confusion_panel(snap_compare, finished_app):
    async def show_confusion(pilot):
        await wait_finished(pilot)
        await pilot.press("3")
        await pilot.pause(0.1)

    assert snap_compare(finished_app, terminal_size=(80, 24), run_before=show_confusion)


def test_live_screen_running_compact(snap_compare, tmp_path, monkeypatch):
    """During a run the Cancel button sits on its own row above the footer (docked, it covered the footer)."""
    from app_harness import ManualEngine
    from events_factory import run_started, strategy_events

    from cifar_tui.engine.run import events as ev

    monkeypatch.setattr("cifar_tui.app.app.new_run_id", lambda name="": FIXED_ID)
    engine = ManualEngine()
    app = CifarTuiApp(tmp_path, start=ExperimentConfig(dataset="digits", weights="none"), engine=engine)

    async def mid_run(pilot):
        for _ in range(200):
            if engine.started.is_set():
                break
            await pilot.pause(0.05)
        events = strategy_events("scratch", epochs=3, steps=4)
        second_epoch_batch = [i for i, e in enumerate(events) if isinstance(e, ev.BatchEnd)][5]
        engine.send([run_started(strategies=("scratch",)), *events[:second_epoch_batch + 1]])
        for _ in range(200):
            if app.live_state.strategies.get("scratch") and app.live_state.strategies["scratch"].step == 2:
                break
            await pilot.pause(0.05)
        await settle(pilot)

    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=mid_run)
    finally:
        if engine.stop_event is not None:
            engine.stop_event.set()
