"""The Studies screen for a study submitted to Slurm: each cell's queued/running state and its job."""

from __future__ import annotations

from test_app import until
from test_study_app import record_study

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.engine.study import cell_status
from cifar_tui.engine.study.record import load_record, save_record


async def test_studies_screen_shows_each_cells_slurm_state_and_job(tmp_path, monkeypatch):
    record_study(tmp_path)  # 4 finished cells, one whose finetune diverged and one that has not run
    record = load_record(tmp_path, "demo-study")
    record.cells[2].job_id, record.cells[5].job_id = "41_0", "41_1"
    save_record(tmp_path, record)
    (tmp_path / record.cells[2].run_id).rename(tmp_path / "moved")  # cell 3's run is not there yet
    monkeypatch.setattr(cell_status, "slurm_queue", lambda: {"41_0": ("RUNNING", "gpu07"), "41_1": ("PENDING", "")})
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(150, 45)) as pilot:
        await pilot.press("y")
        cells = app.screen.query_one("#cells-table")
        await until(pilot, lambda: cells.row_count == 6 and len(cells.columns) == 6)
        rows = [[str(cells.get_row_at(r)[c]) for c in range(6)] for r in range(6)]
        assert [row[1] for row in rows] == ["finished", "finished", "running", "finished", "failed", "queued"]
        assert rows[2][5] == "41_0 gpu07" and rows[5][5] == "41_1" and rows[0][5] == "-"
