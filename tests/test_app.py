"""Pilot tests of the app, driven by scripted engines (no TensorFlow)."""

from __future__ import annotations

import asyncio

from app_harness import BatchesUntilStopped, FailingEngine, ManualEngine, ScriptedEngine
from events_factory import full_run, record_runs, run_started, strategy_events
from textual.coordinate import Coordinate
from textual.widgets import Button, Checkbox, DataTable, Input, Label

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.messages import BatchProgress
from cifar_tui.app.screens.dialogs import ConfirmQuit, StartFailed
from cifar_tui.app.screens.live import LiveScreen, RunViewScreen
from cifar_tui.app.screens.new_run import NewRunScreen
from cifar_tui.app.widgets.comparison import ComparisonTable
from cifar_tui.app.widgets.confusion import ConfusionView
from cifar_tui.app.widgets.curves import CurvesPlot
from cifar_tui.app.widgets.progress_panel import StrategyRow
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.recorder import RunRecorder

CONFIG = ExperimentConfig(dataset="digits", weights="none")


async def until(pilot, condition, timeout=10.0):
    """Let the app work until `condition()` holds (or fail after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def cell_text(table: DataTable, row: int, column: int) -> str:
    return str(table.get_cell_at(Coordinate(row, column))).strip()


async def test_epoch_events_update_progress_curves_and_table(tmp_path):
    engine = ManualEngine()
    app = CifarTuiApp(tmp_path, start=CONFIG, engine=engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, engine.started.is_set)
        events = strategy_events("scratch", epochs=3, steps=4)
        first_epoch = next(i for i, e in enumerate(events) if isinstance(e, ev.EpochEnd))
        engine.send([run_started(strategies=("scratch", "frozen")), *events[:first_epoch - 1]])
        await until(pilot, lambda: app.live_state.strategies["scratch"].step == 3)
        row = next(r for r in app.screen.query(StrategyRow) if r.strategy == "scratch")
        assert "training 1/3" in str(row.status.render())
        engine.send(events[first_epoch - 1:first_epoch + 1])
        await until(pilot, lambda: app.live_state.strategies["scratch"].epoch == 1)
        plot = app.screen.query_one(CurvesPlot)
        # curves redraw at most twice a second, on a timer: wait for it rather than for a fixed time
        await until(pilot, lambda: "scratch" in plot.render().plain, timeout=5)
        table = app.screen.query_one(ComparisonTable)
        assert table.row_count == 2 and cell_text(table, 0, 1) == "running"
        engine.stop_event.set()


async def test_comparison_table_fills_and_confusion_heatmap_counts(tmp_path):
    app = CifarTuiApp(tmp_path, start=CONFIG, engine=ScriptedEngine())
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.live_state.status == "finished")
        await pilot.pause(0.2)
        table = app.screen.query_one(ComparisonTable)
        # ± the binomial standard error on the factory's 40 test images: sqrt(0.5 * 0.5 / 40) = 7.9 points, ...
        assert [cell_text(table, r, 3) for r in range(3)] == ["50.0±7.9%", "80.0±6.3%", "90.0±4.7%"]
        view = app.screen.query_one(ConfusionView)
        assert view.selected == "finetune"
        cm = view.query_one(DataTable)
        # factory: 4 test images per class, 3 right (0.9 share rounds down), 1 confused with the next class
        assert [cell_text(cm, 0, c) for c in range(1, 4)] == ["3", "1", "0"]
        assert cell_text(cm, 0, 0) == "airplane"
        await pilot.press("p")
        assert [cell_text(cm, 0, c) for c in range(1, 3)] == ["75", "25"]
        await pilot.press("left_square_bracket")
        assert view.selected == "frozen"


async def test_batch_messages_coalesce_per_strategy():
    older = BatchProgress(ev.BatchEnd(strategy="a", phase="train", epoch=1, step=1, steps=9, loss=1, accuracy=0,
                                      images_per_s=1), "run")
    newer = BatchProgress(ev.BatchEnd(strategy="a", phase="train", epoch=1, step=2, steps=9, loss=1, accuracy=0,
                                      images_per_s=1), "run")
    other = BatchProgress(ev.BatchEnd(strategy="b", phase="train", epoch=1, step=2, steps=9, loss=1, accuracy=0,
                                      images_per_s=1), "run")
    assert older.can_replace(newer) and not older.can_replace(other)


async def test_cancel_key_stops_the_run_and_records_cancelled(tmp_path):
    engine = BatchesUntilStopped()
    app = CifarTuiApp(tmp_path, start=CONFIG, engine=engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.live_state.strategies.get("scratch") and
                    app.live_state.strategies["scratch"].step > 20)
        await pilot.press("c")
        await until(pilot, lambda: app.live_state.status == "cancelled")
        assert engine.stopped.is_set()
        assert app.live_state.strategies["scratch"].status == "cancelled"


async def test_cancel_run_is_offered_only_while_a_run_can_be_cancelled(tmp_path):
    """A reviewer found `c Cancel run` in the footer after the run had ended."""
    engine = BatchesUntilStopped()
    app = CifarTuiApp(tmp_path, start=CONFIG, engine=engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: engine.batches_sent > 5)
        await pilot.pause(0.1)
        assert "c" in app.screen.active_bindings
        status, app.live_state.status = app.live_state.status, "stopping"  # asked already: not offered again
        assert "c" not in app.screen.active_bindings
        app.live_state.status = status
        await pilot.press("c")
        await until(pilot, lambda: app.live_state.status == "cancelled" and not app.is_training)
        await pilot.pause(0.1)
        assert "c" not in app.screen.active_bindings


async def test_cancel_button_stops_the_run(tmp_path):
    engine = BatchesUntilStopped()
    app = CifarTuiApp(tmp_path, start=CONFIG, engine=engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: engine.batches_sent > 10)
        button = app.screen.query_one("#cancel-run", Button)
        assert button.display
        await pilot.click("#cancel-run")
        await until(pilot, lambda: app.live_state.status == "cancelled")
        assert engine.stopped.is_set() and not button.display


async def test_quit_during_a_run_asks_then_stops_the_worker(tmp_path):
    engine = BatchesUntilStopped()
    app = CifarTuiApp(tmp_path, start=CONFIG, engine=engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: engine.batches_sent > 10)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        assert not engine.stopped.is_set()  # asking does not stop anything
        await pilot.press("y")
        await until(pilot, engine.stopped.is_set)
    assert app.return_code == 0


async def test_quit_without_a_run_exits_at_once(tmp_path):
    app = CifarTuiApp(tmp_path)
    async with app.run_test() as pilot:
        await pilot.press("q")
    assert app.return_code == 0


async def test_compact_layout_at_80x24_shows_one_panel_at_a_time(tmp_path):
    app = CifarTuiApp(tmp_path, start=CONFIG, engine=ScriptedEngine())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.live_state.status == "finished")
        screen = app.screen
        assert isinstance(screen, LiveScreen) and screen.has_class("-compact")
        # the run has ended: the comparison and its verdict come into view (they were behind `2`)
        await until(pilot, lambda: screen.query_one("#verdict").verdict is not None, timeout=60)  # imports scipy
        shown = [p.id for p in screen.query(".panel") if p.display and p.size.height > 0]
        assert shown == ["panel-results"]
        verdict = screen.query_one("#verdict")
        assert verdict.region.y < screen.size.height - 1 and verdict.region.height > 0  # on screen, not below
        await pilot.press("1")
        await pilot.pause(0.1)
        shown = [p.id for p in screen.query(".panel") if p.display and p.size.height > 0]
        assert shown == ["panel-curves"]
        await pilot.press("3")
        await pilot.pause(0.1)
        shown = [p.id for p in screen.query(".panel") if p.display and p.size.height > 0]
        assert shown == ["panel-confusion"]
        await pilot.resize_terminal(140, 45)
        await pilot.pause(0.1)
        assert not screen.has_class("-compact")
        assert len([p for p in screen.query(".panel") if p.size.height > 0]) == 4


async def test_start_failure_offers_the_digits_data_set(tmp_path):
    engine = FailingEngine()
    app = CifarTuiApp(tmp_path, start=ExperimentConfig(), engine=engine)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartFailed))
        assert "--data-dir" in str(app.screen.query_one("#start-failed-message").render())
        # the info line named a run id no folder has: nothing was recorded
        assert app.live_state.run_id == "" and not list(tmp_path.iterdir())
        await pilot.pause(0.1)  # let the dialog lay out before clicking
        await pilot.click("#digits")
        await until(pilot, lambda: app.live_state.status == "finished")
        assert [c.dataset for c in engine.configs] == ["cifar10", "digits"]


async def test_new_run_form_refuses_invalid_values_inline(tmp_path):
    engine = ScriptedEngine()
    app = CifarTuiApp(tmp_path, engine=engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunScreen))
        form = app.screen
        form.query_one("#scratch_epochs", Input).value = "0"
        await pilot.pause(0.05)
        assert "epochs must be at least 1" in str(form.query_one("#form-error", Label).render())
        assert form.query_one("#start", Button).disabled
        form.query_one("#scratch_epochs", Input).value = "2"
        form.query_one("#transfer_image_size", Input).value = "16"
        await pilot.pause(0.05)
        assert "image size must be at least 32" in str(form.query_one("#form-error", Label).render())
        form.query_one("#transfer_image_size", Input).value = "48"
        form.query_one("#use-frozen", Checkbox).value = False
        await pilot.pause(0.05)
        assert not form.query_one("#start", Button).disabled
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(engine.configs) == 1)
        config = engine.configs[0]
        assert config.scratch_epochs == 2 and config.transfer_image_size == 48
        assert config.strategies == ("scratch", "finetune")


def seed_runs(runs_dir):
    record_runs(runs_dir, ("20270115-080000-alpha-0001", "20270116-080000-beta-0002"))
    damaged = runs_dir / "20270117-080000-broken-0003"
    damaged.mkdir()
    (damaged / "summary.json").write_text("{oops")


async def open_runs_screen(pilot, rows: int) -> DataTable:
    """Switch to the Runs screen, wait for `rows` runs, focus the table."""
    await pilot.press("r")
    table = pilot.app.screen.query_one("#runs-table", DataTable)
    await until(pilot, lambda: table.row_count == rows)
    table.focus()
    return table


def select_run(table: DataTable, run_id: str) -> None:
    table.move_cursor(row=[cell_text(table, r, 0).lstrip("● ") for r in range(table.row_count)].index(run_id))


async def test_runs_screen_lists_filters_and_opens_a_run(tmp_path):
    seed_runs(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("r")
        table = app.screen.query_one("#runs-table", DataTable)
        await until(pilot, lambda: table.row_count == 3)
        statuses = {cell_text(table, r, 0): cell_text(table, r, 1) for r in range(3)}
        assert statuses["20270117-080000-broken-0003"] == "damaged"
        assert statuses["20270115-080000-alpha-0001"] == "finished"
        app.screen.query_one("#runs-filter", Input).value = "alpha"
        await until(pilot, lambda: table.row_count == 1)
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen))
        view = app.screen
        await pilot.pause(0.1)
        results = view.query_one(ComparisonTable)
        # ± the binomial standard error on the factory's 40 test images: sqrt(0.5 * 0.5 / 40) = 7.9 points, ...
        assert [cell_text(results, r, 3) for r in range(3)] == ["50.0±7.9%", "80.0±6.3%", "90.0±4.7%"]
        await pilot.press("escape")
        assert not isinstance(app.screen, RunViewScreen)


async def test_attach_follows_a_growing_events_file_and_detects_a_dead_writer(tmp_path, monkeypatch):
    from cifar_tui.engine.store import liveness

    run_id = "20270118-080000-live-0004"
    recorder = RunRecorder(tmp_path, run_id, heartbeat_s=3600)
    stream = full_run(run_id)
    first_epoch = next(i for i, e in enumerate(stream) if isinstance(e, ev.EpochEnd))
    for e in stream[:first_epoch + 1]:
        recorder(e)
    app = CifarTuiApp(tmp_path, watch=run_id)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen))
        view = app.screen
        state = view.dashboard.state
        assert state.status == "running" and state.strategies["scratch"].epoch == 1
        for e in stream[first_epoch + 1:first_epoch + 30]:  # the writer goes on
            recorder(e)
        await until(pilot, lambda: state.strategies["scratch"].epoch >= 2)
        # the writer stops beating but holds the run's lock (Ctrl-Z): running, quiet
        recorder._stop_heartbeat.set()
        monkeypatch.setattr(liveness, "STALE_AFTER_S", 0.0)
        await until(pilot, lambda: "no heartbeat for" in str(view.query_one("#info-line").render()))
        assert state.status == "running"
        recorder._run_lock.release()  # the writer dies: the kernel frees its lock
        await until(pilot, lambda: state.status == "interrupted")
        assert "interrupted" in str(view.query_one("#info-line").render())


async def test_delete_a_run_after_confirmation(tmp_path):
    seed_runs(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 3)
        select_run(table, "20270115-080000-alpha-0001")
        await pilot.press("d")
        await pilot.pause(0.1)
        await pilot.press("n")  # keep it
        await pilot.pause(0.1)
        assert (tmp_path / "20270115-080000-alpha-0001").exists()
        await pilot.press("d")
        await pilot.pause(0.1)
        await pilot.press("y")
        await until(pilot, lambda: table.row_count == 2)
        assert not (tmp_path / "20270115-080000-alpha-0001").exists()
        assert (tmp_path / "20270116-080000-beta-0002").exists()


def test_fast_ansi_decoder_renders_exactly_like_rich():
    import io

    from rich.console import Console
    from rich.text import Text
    from textual_plotext.plot import Plot

    from cifar_tui.app.widgets.curves import ansi_to_text

    plot = Plot()
    plot.plotsize(60, 16)
    plot._set_size(60, 16)
    for color in ("cyan", "orange", "magenta"):
        plot.plot(list(range(30)), [i / 30 for i in range(30)], color=color, marker="braille", label=color)
        plot.scatter(list(range(30)), [i / 40 for i in range(30)], color=color, marker="•")
    ansi = plot.build()

    def rendered(text):
        console = Console(file=io.StringIO(), width=80, color_system="256", force_terminal=True)
        console.print(text)
        return console.file.getvalue()

    assert rendered(ansi_to_text(ansi)) == rendered(Text.from_ansi(ansi))


async def test_compare_two_marked_runs(tmp_path):
    from cifar_tui.app.screens.compare import CompareCurves, CompareScreen

    seed_runs(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 3)
        await pilot.press("c")  # nothing marked yet: refused with a hint
        assert not isinstance(app.screen, CompareScreen)
        for run_id in ("20270115-080000-alpha-0001", "20270116-080000-beta-0002"):
            select_run(table, run_id)
            await pilot.press("space")
        assert app.screen.marked == ["20270115-080000-alpha-0001", "20270116-080000-beta-0002"]
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        await pilot.pause(0.2)
        results = app.screen.query_one("#compare-table", DataTable)
        assert results.row_count == 6
        assert [cell_text(results, r, 5) for r in (2, 5)] == ["90.0±4.7%", "90.0±4.7%"]  # binomial SE, 40 images
        assert "━ alpha-0001" in str(app.screen.query_one("#compare-legend").render())  # runs named, coloured
        assert "alpha-0001" not in app.screen.query_one(CompareCurves).render().plain  # no legend on the curves


async def test_command_palette_lists_the_apps_actions(tmp_path):
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"New run", "Cancel run", "Live", "Runs"} <= set(titles)


async def test_annotate_a_run_from_the_runs_screen(tmp_path):
    seed_runs(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 3)
        select_run(table, "20270116-080000-beta-0002")
        await pilot.press("a")
        await pilot.pause(0.2)
        app.screen.query_one("#annotate-note", Input).value = "best so far"
        await pilot.click("#save")
        await until(pilot, lambda: any("best so far" in cell_text(table, r, 8) for r in range(table.row_count)))
        app.screen.query_one("#runs-filter", Input).value = "best so"
        await until(pilot, lambda: table.row_count == 1)


async def test_runs_screen_sorts_by_a_clicked_header(tmp_path):
    seed_runs(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 3)
        first_column = [cell_text(table, r, 0) for r in range(3)]
        assert first_column == sorted(first_column, reverse=True)  # newest first by default
        await pilot.click("#runs-table", offset=(3, 0))  # the "run" header
        await pilot.pause(0.1)
        assert [cell_text(table, r, 0) for r in range(3)] == sorted(first_column)
        await pilot.press("s")  # next column: status
        await pilot.pause(0.1)
        assert app.screen.sort_column == 1
        statuses = [cell_text(table, r, 1) for r in range(3)]
        assert statuses == sorted(statuses, reverse=app.screen.sort_reverse)


async def test_a_new_runs_confusion_panel_forgets_the_previous_runs_strategy(tmp_path):
    """After a finished run, the next run on the Live screen showed the old selection with the new run's
    empty matrix ('scratch test 0.0%') until one of its strategies finished."""
    from cifar_tui.engine.run.state import RunState

    app = CifarTuiApp(tmp_path, start=CONFIG, engine=ScriptedEngine())
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: app.live_state.status == "finished")
        await pilot.pause(0.2)
        view = app.screen.query_one(ConfusionView)
        assert view.selected == "finetune"
        fresh = RunState(run_id="20270120-080000-next-0006", status="running")
        fresh.strategy("finetune")
        view.show(fresh)
        await pilot.pause(0.1)
        assert view.selected is None
        assert "no strategy has finished yet" in str(view.query_one("#cm-title").render())
        assert view.query_one(DataTable).row_count == 0
