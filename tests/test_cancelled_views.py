"""Every view of a run with a cancelled (never tested) strategy agrees: the Compare screen's galleries,
`runs compare`, the export, `runs list` and the Runs screen, and one duration rule for all of them and the
headless progress lines (a new user's review found each of them saying something else)."""

from __future__ import annotations

from events_factory import T0, record_runs, run_started, strategy_events
from test_app import cell_text, open_runs_screen, until
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.cli.main import app as cli
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store.reader import load_run
from cifar_tui.engine.store.recorder import RunRecorder

CANCELLED = "20270115-080000-cancel-0001"  # finetune cancelled after 2 of its 3 epochs, never tested
FULL = "20270115-090000-full-0002"


def cancelled_finetune_run(run_seconds=31.6, finetune_seconds=10.56):
    finetune = [e for e in strategy_events("finetune", accs=(0.6, 0.8, 0.7))
                if not isinstance(e, ev.Evaluated | ev.StrategyFinished) and getattr(e, "epoch", 0) <= 2]
    # EfficientNetB0-sized counts: the widest params cell a real run has
    finetune.append(ev.StrategyFinished(strategy="finetune", status="cancelled", seconds=finetune_seconds,
                                        trainable_params=4_007_548, total_params=4_049_571, time=T0))
    return [run_started(CANCELLED), *strategy_events("scratch", test_acc=0.5),
            *strategy_events("frozen", accs=(0.6, 0.7, 0.8), test_acc=0.8), *finetune,
            ev.RunFinished(status="cancelled", seconds=run_seconds, time=T0)]


def record(runs_dir, events=None):
    recorder = RunRecorder(runs_dir, CANCELLED)
    for e in events or cancelled_finetune_run():
        recorder(e)
    recorder.close()
    record_runs(runs_dir, [FULL])


async def test_compare_e_and_x_on_an_untested_row_say_so_and_open_nothing(tmp_path):
    """`e` on the cancelled finetune's row opened "frozen top losses" with no notice."""
    from textual.widgets import DataTable

    from cifar_tui.app.screens.compare import CompareScreen
    from cifar_tui.app.screens.gallery import GalleryScreen

    record(tmp_path)
    runs = [(run_id, load_run(tmp_path, run_id).state) for run_id in (CANCELLED, FULL)]
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(CompareScreen(runs))
        await pilot.pause(0.2)
        table = app.screen.query_one("#compare-table", DataTable)
        assert cell_text(table, 2, 2) == "finetune" and cell_text(table, 2, 5) == "untested"
        table.move_cursor(row=2)
        for key in ("e", "x"):
            app.clear_notifications()
            await pilot.press(key)
            await until(pilot, lambda: app._notifications)
            await pilot.pause(0.2)
            assert not isinstance(app.screen, GalleryScreen), (key, app.screen.sub_title)
            assert [n.message for n in app._notifications] == [
                "finetune was never tested (it was cancelled first): it has no test-set images to show"]
        table.move_cursor(row=1)  # frozen: tested, its gallery opens under its own name
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen))
        assert app.screen.sub_title == f"{CANCELLED}: frozen top losses"
        await pilot.press("escape")
        table.move_cursor(row=4)  # the full run's frozen row: fixed by frozen, not by its tested finetune
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen))
        assert app.screen.loaders[0].args[1] == ["scratch", "frozen"]


def test_runs_compare_has_the_cells_of_runs_show_and_fits_80_columns(tmp_path):
    record(tmp_path)
    shown = CliRunner().invoke(cli, ["runs", "show", CANCELLED, "--runs-dir", str(tmp_path)],
                               env={"COLUMNS": "200"}).output
    show_row = next(line.split() for line in shown.splitlines() if line.strip().startswith("finetune"))
    for width in ("80", "200"):
        out = CliRunner().invoke(cli, ["runs", "compare", CANCELLED, FULL, "--runs-dir", str(tmp_path)],
                                 env={"COLUMNS": width}).output
        row = next(line.split() for line in out.splitlines() if "cancel-0001" in line and "finetune" in line)
        # strategy, status, best val, test, epochs as `runs show` writes them: nothing in another's column
        assert row[1:6] == show_row[:5] == ["finetune", "cancelled", "(80.0%@2)", "untested", "2/3"], out
        assert "…" not in out.replace("(…)", ""), out  # no cell cut (the caption's "(…)" is its legend)
        assert max(len(line.rstrip()) for line in out.splitlines()) <= int(width), out
    assert "0m10s" in out and "4.01M/4.05M" in out  # at 200 columns every column is there
    narrow = CliRunner().invoke(cli, ["runs", "compare", CANCELLED, FULL, "--runs-dir", str(tmp_path)],
                                env={"COLUMNS": "80"}).output
    assert "left out at 80 columns: img/s, params" in narrow  # says what it dropped


def test_the_export_writes_untested_the_same_duration_and_no_params_for_a_pending_strategy(tmp_path):
    from cifar_tui.engine.report.export import export_run

    events = cancelled_finetune_run()
    pending = run_started(CANCELLED, strategies=("scratch", "frozen", "finetune", "probe"))  # probe never ran
    page = export_run(RunState.from_events([pending, *events[1:]]), tmp_path / "r", "md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in page.splitlines() if line.startswith("| ") and "strategy" not in line}
    status, best, test, epochs, params, took = rows["finetune"]
    assert (test, epochs, took) == ("untested", "2 of 3", "0m10s"), rows  # 10.56 s: truncated, as `runs show`
    assert rows["probe"][0] == "not started" and rows["probe"][4:] == ["-", "-"], rows  # not "0 / 0", not "pending"
    assert rows["scratch"][2] == "50.0 ± 7.9%"  # a tested strategy keeps its accuracy


def test_the_headless_end_line_and_runs_list_give_a_run_the_same_time(tmp_path):
    from cifar_tui.cli.progress import milestone_line

    record(tmp_path)
    listed = CliRunner().invoke(cli, ["runs", "list", "--runs-dir", str(tmp_path)]).output
    line = next(line for line in listed.splitlines() if line.startswith(CANCELLED))
    assert line.endswith(" 0m31s")  # 31.6 s
    assert milestone_line(cancelled_finetune_run()[-1]) == "run cancelled in 0m31s"  # said "32s"


async def test_the_runs_screen_and_runs_list_mark_an_untested_strategy_alike(tmp_path):
    """`runs list` wrote "-" where the Runs screen left the cell blank; blank stays for a strategy the run
    does not have (the probe column comes with a run that has one)."""
    events = cancelled_finetune_run()
    pending = run_started(CANCELLED, strategies=("scratch", "frozen", "finetune", "probe"))
    record(tmp_path, [pending, *events[1:]])
    listed = CliRunner().invoke(cli, ["runs", "list", "--runs-dir", str(tmp_path)]).output
    header = listed.splitlines()[0].split()
    cells = dict(zip(header, next(line for line in listed.splitlines() if line.startswith(CANCELLED)).split(),
                     strict=True))
    assert (cells["ft"], cells["prb"]) == ("-", "-")
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 2)
        labels = [str(c.label) for c in table.ordered_columns]
        by_run = {cell_text(table, r, 0): r for r in range(table.row_count)}
        row, full = by_run[CANCELLED], by_run[FULL]
        assert [cell_text(table, row, labels.index(n)) for n in ("finetune", "probe")] == ["-", "-"]
        assert cell_text(table, full, labels.index("probe")) == ""  # the full run has no probe
        assert cell_text(table, row, labels.index("time")) == "0m31s"
