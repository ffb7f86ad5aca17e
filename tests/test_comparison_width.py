"""The Live screen's comparison table leaves out what its panel cannot hold, and says so (a reviewer at
120x40 found params, time and img/s cut at the panel's edge without a word)."""

from __future__ import annotations

import pytest
from app_harness import ScriptedEngine
from test_app import CONFIG, until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.widgets.comparison import ComparisonTable
from cifar_tui.render.tables import COMPARISON_COLUMNS


@pytest.mark.parametrize("size, left_out", [((120, 40), ["params", "time", "img/s"]), ((140, 45), [])])
async def test_columns_the_panel_cannot_hold_are_named(tmp_path, size, left_out):
    app = CifarTuiApp(tmp_path, start=CONFIG, engine=ScriptedEngine())
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.live_state.status == "finished")
        await pilot.pause(0.2)
        table = app.screen.query_one(ComparisonTable)
        shown = [str(column.label) for column in table.ordered_columns]
        assert shown == [c for c in COMPARISON_COLUMNS if c not in left_out]
        needed = sum(column.get_render_width(table) for column in table.ordered_columns)
        assert needed <= table.size.width  # every shown column whole
        subtitle = table.parent.border_subtitle or ""
        assert all(column in subtitle for column in left_out) and (("left out" in subtitle) == bool(left_out))


async def test_a_cell_once_wide_leaves_no_wide_column_behind():
    """A reviewer's path at 80x24: a refused start (rows "not started"), then a run whose rows just fit: the
    columns kept the refused rows' widths (a DataTable's column only widens) and img/s was cut silently."""
    from textual.app import App

    from cifar_tui.engine.run.state import RunState

    class Host(App):
        def compose(self):
            yield ComparisonTable()

    refused, running = RunState(), RunState()
    for name in ("scratch", "frozen", "finetune"):
        refused.strategy(name).status = "not started"
        s = running.strategy(name)
        s.status, s.best_epoch, s.best_val_accuracy, s.test_accuracy = "finished", 3, 0.9, 0.9
        s.total_params, s.trainable_params, s.epoch_budget, s.seconds = 4_060_000, 4_050_000, "5+5", 750.0
    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(ComparisonTable)
        table.show(refused)
        await pilot.pause(0.1)
        table.show(running)
        await pilot.pause(0.1)
        needed = sum(column.get_render_width(table) for column in table.ordered_columns)
        shown = [str(column.label) for column in table.ordered_columns]
        assert needed <= table.size.width, shown


async def test_the_best_epochs_star_is_explained_on_the_panel():
    """`runs show` captions finetune's "*" (tested before unfreezing); the app's panel said nothing of it."""
    from textual.app import App
    from textual.containers import Vertical

    from cifar_tui.engine.run.state import RunState

    class Host(App):
        def compose(self):
            with Vertical():
                yield ComparisonTable()

    state = RunState()
    s = state.strategy("finetune")
    s.status, s.best_epoch, s.best_val_accuracy, s.test_accuracy, s.tested_phase = "finished", 1, 0.2, 0.2, "head"
    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        table = app.query_one(ComparisonTable)
        table.show(state)
        await pilot.pause(0.1)
        assert "*" in str(table.get_cell_at((0, 2)))
        assert table.parent.border_subtitle == "* tested before unfreezing"
