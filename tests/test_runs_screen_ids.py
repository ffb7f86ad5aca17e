"""Run ids on the Runs screen: a study cell's id (35 characters and more) pushed the wide table past 120
columns (time cut to "ti"), and shortened at 80 columns two cells of one study read the same
(`1129-1109 tiny-0…` twice)."""

from __future__ import annotations

import pytest
from events_factory import record_runs
from test_app import cell_text, open_runs_screen

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.render.tables import SHORT_ID, short_id

CELLS = ("20261129-110900-tiny-000-a1b2c3d4", "20261129-110900-tiny-001-e5f6a7b8",
         "20261129-110900-resume-010-0f0f0f0f", "20261129-110900-resume-011-1e1e1e1e")


def test_short_ids_of_study_cells_differ_and_fit():
    shown = [short_id(run_id) for run_id in CELLS]
    assert len(set(shown)) == len(CELLS) and all(len(s) <= SHORT_ID for s in shown), shown
    assert short_id("20261129-173645-run-8b909586") == "run-8b909586"  # the part that tells runs apart


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_runs_table_fits_and_tells_study_cells_apart(tmp_path, size):
    record_runs(tmp_path, CELLS)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=size) as pilot:
        table = await open_runs_screen(pilot, len(CELLS))
        await pilot.pause(0.2)
        ids = [cell_text(table, row, 0) for row in range(table.row_count)]
        assert len(set(ids)) == len(CELLS), ids
        assert table.virtual_size.width <= table.scrollable_content_region.width, (table.virtual_size, ids)
