"""Snapshot tests of the Live screen at 80x24 and 140x45 (deterministic: scripted events, fixed ids).

Update after an intended change with `pytest tests/test_snapshots.py --snapshot-update` and review the
report; a layout change that was not intended fails here.
"""

from __future__ import annotations

import pytest
from app_harness import ScriptedEngine

from engine.config import ExperimentConfig
from tui.app import CifarTuiApp
from tui.widgets.dashboard import Dashboard

FIXED_ID = "20270115-080000-demo-abcd"


@pytest.fixture
def finished_app(tmp_path, monkeypatch):
    monkeypatch.setattr("tui.app.new_run_id", lambda name="": FIXED_ID)
    return CifarTuiApp(tmp_path, start=ExperimentConfig(dataset="digits", weights="none"), engine=ScriptedEngine())


async def wait_finished(pilot):
    app = pilot.app
    for _ in range(200):
        if app.live_state.status == "finished":
            break
        await pilot.pause(0.05)
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
