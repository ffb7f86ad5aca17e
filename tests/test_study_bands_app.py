"""The Studies screen's bands, progress line and reference lines: pilot checks and snapshots at 80x24 and
140x45 (update with `pytest tests/test_study_bands_app.py --snapshot-update`)."""

from __future__ import annotations

import pytest
from study_bands_factory import record_bands_study
from test_app import until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.widgets.study_bands import StudyBands
from cifar_tui.app.widgets.study_chart import StudyChart
from cifar_tui.engine.study.references import PUBLISHED

IMAGENET = {"requested": "imagenet", "label": "ImageNet (test)", "pretrained": True}


async def test_bands_progress_and_reference_lines_on_the_studies_screen(tmp_path):
    record_bands_study(tmp_path, finished_cells=4, weights=IMAGENET)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("y")
        bands = app.screen.query_one(StudyBands)
        await until(pilot, lambda: bands.progress is not None)
        assert "cells 4/6" in str(app.screen.query_one("#study-progress").render())
        assert [b.condition for b in bands.bands][0] == {"train_fraction": 0.1}
        chart = app.screen.query_one(StudyChart)
        await pilot.press("b")  # the bands of the first condition, in place of the results chart
        await pilot.pause(0.1)
        assert not chart.display and "train_fraction=0.1" in app.screen.query_one("#study-bands-plot").render().plain
        await pilot.press("b")  # the next condition
        await pilot.pause(0.1)
        assert "train_fraction=1.0" in app.screen.query_one("#study-bands-plot").render().plain
        await pilot.press("b")  # back to the results chart
        await pilot.pause(0.1)
        assert chart.display and not bands.showing
        await until(pilot, lambda: chart.references[:2] == list(PUBLISHED))
        assert "airbench94, 50k train (Jordan 2024)" in chart.render().plain  # its protocol differs


async def settled(pilot):
    await pilot.press("y")
    bands = pilot.app.screen.query_one(StudyBands)
    for _ in range(200):
        if bands.progress is not None:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.5)


@pytest.fixture
def study_app(tmp_path):
    record_bands_study(tmp_path, finished_cells=5, weights=IMAGENET)
    return CifarTuiApp(tmp_path)


async def show_bands(pilot):
    await settled(pilot)
    await pilot.press("b")
    await pilot.pause(0.5)


def test_study_bands_compact(snap_compare, study_app):
    assert snap_compare(study_app, terminal_size=(80, 24), run_before=show_bands)


def test_study_bands_wide(snap_compare, study_app):
    assert snap_compare(study_app, terminal_size=(140, 45), run_before=show_bands)


def test_study_results_with_reference_lines_wide(snap_compare, study_app):
    assert snap_compare(study_app, terminal_size=(140, 45), run_before=settled)
