"""One pilot test with the real engine: New run form -> training in a thread worker -> finished comparison,
recorded in the run store. Tiny genuine-format CIFAR-10 files, EfficientNet at 32 px, no pretrained weights."""

from __future__ import annotations

import pytest
from test_app import cell_text, until
from textual.widgets import Checkbox, Input

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.new_run import NewRunScreen
from cifar_tui.app.widgets.comparison import ComparisonTable
from cifar_tui.engine.store.reader import list_runs


@pytest.mark.slow
async def test_new_run_to_finished_comparison_with_the_real_engine(cifar_dir, tmp_path):
    runs = tmp_path / "runs"
    app = CifarTuiApp(runs)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunScreen))
        form = app.screen
        values = {"scratch_epochs": "1", "frozen_epochs": "1", "head_epochs": "1", "transfer_image_size": "32",
                  "batch_size": "16", "train_per_class": "6", "test_limit": "20", "data_dir": str(cifar_dir),
                  "weights": "none", "name": "pilot"}
        for field, value in values.items():
            form.query_one(f"#{field}", Input).value = value
        form.query_one("#use-finetune", Checkbox).value = False
        await pilot.pause(0.1)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.live_state.status in ("finished", "failed", "cancelled"), timeout=240)
        assert app.live_state.status == "finished", app.live_state.log
        await pilot.pause(0.2)
        table = app.screen.query_one(ComparisonTable)
        assert table.row_count == 2
        assert all(cell_text(table, r, 3).endswith("%") for r in range(2))
        assert app.live_state.weights["pretrained"] is False
    (listing,) = list_runs(runs)
    assert listing.status == "finished" and "pilot" in listing.run_id
    assert set(listing.strategies) == {"scratch", "frozen"}
