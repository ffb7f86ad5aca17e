"""Snapshot tests of the gallery screen (a scripted run's top losses) at 80x24 and 140x45.

Update after an intended change with `pytest tests/test_gallery_snapshots.py --snapshot-update`."""

from __future__ import annotations

import pytest
from predictions_factory import record_run_with_predictions

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.gallery import GalleryScreen
from cifar_tui.app.screens.live import RunViewScreen
from cifar_tui.app.widgets.gallery import GalleryView
from cifar_tui.engine.store.reader import load_run

RUN = "20270115-080000-demo-abcd"


@pytest.fixture
def history_app(tmp_path):
    record_run_with_predictions(tmp_path)
    app = CifarTuiApp(tmp_path)
    app.snapshot_state = load_run(tmp_path, RUN).state
    return app


async def open_top_losses(pilot):
    app = pilot.app
    app.push_screen(RunViewScreen(app.snapshot_state, title=RUN))
    await pilot.pause(0.3)
    await pilot.press("e")
    for _ in range(200):
        if isinstance(app.screen, GalleryScreen) and app.screen.query_one(GalleryView).gallery is not None:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)


def test_gallery_compact(snap_compare, history_app):
    assert snap_compare(history_app, terminal_size=(80, 24), run_before=open_top_losses)


def test_gallery_wide(snap_compare, history_app):
    assert snap_compare(history_app, terminal_size=(140, 45), run_before=open_top_losses)
