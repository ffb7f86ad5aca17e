"""The run lists (`runs list`, the Runs screen) at 80 columns: the probe's test accuracy is a column only
while a listed run has a probe; the Runs screen's keys work as soon as it opens."""

from __future__ import annotations

from pathlib import Path

from events_factory import record_runs, run_started, strategy_events
from test_app import cell_text, open_runs_screen, until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.reader import RunListing
from cifar_tui.engine.store.recorder import RunRecorder
from cifar_tui.render.tables import runs_lines

PROBE_RUN = "20270118-080000-probe-0004"


def record_probe_run(runs_dir: Path) -> None:
    recorder = RunRecorder(runs_dir, PROBE_RUN)
    for event in [run_started(PROBE_RUN, strategies=("scratch", "frozen", "probe")), *strategy_events("scratch"),
                  *strategy_events("frozen", test_acc=0.8), *strategy_events("probe", test_acc=0.85),
                  ev.RunFinished(status="finished", seconds=1.0)]:
        recorder(event)
    recorder.close()


def listing(run_id: str, status: str, strategies: dict, **kw) -> RunListing:
    return RunListing(run_id=run_id, path=Path(run_id), status=status, dataset="cifar10", seconds=3599.0,
                      strategies={n: {"test_accuracy": a} for n, a in strategies.items()}, **kw)


def test_runs_list_shows_the_probe_column_only_when_a_run_has_a_probe():
    three = {"scratch": 0.5, "frozen": 0.8, "finetune": 0.9}
    without = runs_lines([listing("20270115-080000-run-0123abcd", "finished", three)])
    assert "prb" not in without[0] and "probe" not in without[-1]
    # the widest row seen: a default 28-character id, the longest status, substituted data, every accuracy
    widest = listing("20270116-080000-run-4567cdef", "interrupted", three | {"probe": 0.855},
                     notices=["DIGITS USED INSTEAD OF CIFAR-10"])
    lines = runs_lines([widest, listing("20270115-080000-run-0123abcd", "finished", three)])
    assert lines[0].split()[-2:] == ["prb", "time"] and "prb = probe" in lines[-2]
    assert lines[1].split()[3:8] == ["50.0", "80.0", "90.0", "85.5", "59m59s"]
    assert max(len(line) for line in lines) <= 80


async def test_runs_screen_adds_the_probe_column_at_80_columns(tmp_path):
    record_runs(tmp_path, ("20270115-080000-alpha-0001",))
    record_probe_run(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_runs_screen(pilot, 2)
        await pilot.pause(0.1)
        keys = [str(column.key.value) for column in table.ordered_columns]
        assert keys == ["run", "status", "data", "scratch", "frozen", "finetune", "probe", "time"]
        assert [str(column.label) for column in table.ordered_columns][3:7] == ["scr", "frz", "ft", "prb"]
        probe_row = table.get_row_index(PROBE_RUN)
        assert cell_text(table, probe_row, keys.index("probe")) == "85.0%"
        assert table.virtual_size.width <= table.size.width  # all on screen, no sideways scrolling


async def test_runs_screen_has_no_probe_column_without_a_probe_run(tmp_path):
    record_runs(tmp_path, ("20270115-080000-alpha-0001",))
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_runs_screen(pilot, 1)
        assert "probe" not in [str(column.key.value) for column in table.ordered_columns]
        assert "scratch" in [str(column.label) for column in table.ordered_columns]  # full names when they fit


async def test_runs_screen_keys_work_on_arrival_and_slash_filters(tmp_path):
    """The filter had the focus first: `s` (sort, as the footer and README say) typed an 's' into it."""
    from textual.widgets import DataTable, Input

    record_runs(tmp_path, ("20270115-080000-alpha-0001", "20270116-080000-beta-0002"))
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        table = app.screen.query_one("#runs-table", DataTable)
        await until(pilot, lambda: table.row_count == 2)
        await pilot.press("s")
        assert app.screen.sort_column == 1 and app.screen.query_one("#runs-filter", Input).value == ""
        await pilot.press("slash", "b", "e", "t", "a")
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("down")
        assert app.focused is table
