"""Any terminal, any locale: ASCII-only encodings, 80 columns, NO_COLOR, and series told apart without colour."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from events_factory import record_runs, run_started, strategy_events
from rich.console import Console
from test_app import cell_text, until
from textual.widgets import DataTable, Input
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.live import RunViewScreen
from cifar_tui.cli.main import app as cli_app
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState

RUNS = ("20270115-080000-alpha-0001", "20270116-080000-beta-0002")


def record_study(runs, name="finetune-lr"):
    """A finished shipped study (scripted runs): conditions with long labels, three strategies."""
    from cifar_tui.engine.store.recorder import RunRecorder
    from cifar_tui.engine.study.record import new_record, save_record
    from cifar_tui.engine.study.spec import load_spec

    record = new_record(load_spec(name, {"preset": "quick"}))
    for i, cell in enumerate(record.cells):
        run_id = f"20270115-0800{i:02d}-cell-00{i:02d}"
        cell.run_ids.append(run_id)
        recorder = RunRecorder(runs, run_id)
        recorder(run_started(run_id))
        for strategy, acc in (("scratch", 0.5), ("frozen", 0.7), ("finetune", 0.8 + i / 100)):
            for event in strategy_events(strategy, test_acc=acc):
                recorder(event)
        recorder(ev.RunFinished(status="finished", seconds=1.0))
        recorder.close()
    save_record(runs, record)
    return record


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    record_runs(runs, RUNS)
    return runs, record_study(runs)


@pytest.mark.parametrize("command", [["runs", "show", "latest"], ["runs", "list"], ["runs", "compare", *RUNS],
                                     ["studies", "show", "finetune-lr"], ["studies", "list"], ["--help"]])
def test_every_command_works_in_an_ascii_only_encoding(history, command):
    runs, _ = history
    env = dict(os.environ, PYTHONIOENCODING="ascii", COLUMNS="80", CIFAR_TUI_RUNS=str(runs))
    code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    out = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr.decode()
    out.stdout.decode("ascii")  # nothing but ASCII reached the stream


def test_runs_show_at_80_columns_cuts_no_header(history):
    runs, _ = history
    out = CliRunner().invoke(cli_app, ["runs", "show", "latest", "--runs-dir", str(runs)],
                             env={"COLUMNS": "80"}).output
    assert "…" not in out
    header = next(line for line in out.splitlines() if "phase" in line)
    assert header.split() == ["strategy", "phase", "epoch", "loss", "acc", "val", "loss", "val", "acc", "lr",
                              "seconds"]
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80


def test_studies_show_at_80_columns_keeps_every_condition_whole(history):
    runs, record = history
    out = CliRunner().invoke(cli_app, ["studies", "show", record.name, "--runs-dir", str(runs)],
                             env={"COLUMNS": "80"}).output
    labels = {" ".join(f"{k}={v}" for k, v in cell.key.items() if k != "seed") for cell in record.cells}
    assert len(labels) == 6 and all(label in out for label in labels)
    assert "…" not in out.split("test accuracy %")[0]


def test_the_info_line_fits_120_columns_on_one_line():
    from cifar_tui.app.widgets.info_bar import info_text

    state = RunState(run_id="20270115-080000-mydemo-run-abcd", status="finished",
                     dataset={"name": "cifar10", "train": 45000, "val": 5000, "test": 10000},
                     weights={"pretrained": True}, environment={"device": "GPU:0 NVIDIA H200", "precision": "float32"})
    console = Console(file=io.StringIO(), width=118)
    console.print(info_text(state, 118))
    lines = console.file.getvalue().rstrip("\n").splitlines()
    assert len(lines) == 1 and "float32" in lines[0] and state.run_id in lines[0]


def test_at_80_columns_a_long_run_id_is_shortened_before_the_device_is_cut():
    """A named run's or study cell's id would push precision and backend off the line ("CPU floa…")."""
    from cifar_tui.app.widgets.info_bar import info_text

    state = RunState(run_id="20270115-080000-data-efficiency-003-abcd", status="running",
                     dataset={"name": "cifar10", "train": 45000, "val": 5000, "test": 10000},
                     weights={"pretrained": True}, environment={"device": "CPU", "precision": "float32",
                                                               "backend": "jax"},
                     config={"backend": "jax"})
    line = info_text(state, 78).plain
    # shortened as the Runs screen does, keeping the cell index
    assert line.endswith("CPU float32 jax") and "│data…ncy-003-abcd│" in line and len(line) <= 78, line


async def test_the_log_panel_wraps_long_lines_at_80_columns(tmp_path):
    from cifar_tui.app.widgets.log_panel import LogPanel

    fix = "fix: put efficientnetb0_notop.h5 in ~/.keras/models or pass --weights none (END)"
    state = RunState(run_id="20270115-080000-demo-abcd", status="failed")
    state.log.append(("error", "ImageNet weights not found in any cache and the download failed; " + fix))
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunViewScreen(state, title="damaged"))
        await pilot.pause(0.1)
        await pilot.press("4")
        await pilot.pause(0.2)
        log = app.screen.query_one(LogPanel)
        assert log.size.width > 0
        assert max(strip.cell_length for strip in log.lines) <= log.scrollable_content_region.width
        assert "(END)" in "".join(strip.text for strip in log.lines)


async def test_runs_screen_at_80x24_shows_every_strategy_and_enter_in_the_filter_opens(tmp_path):
    record_runs(tmp_path, RUNS)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        table = app.screen.query_one("#runs-table", DataTable)
        await until(pilot, lambda: table.row_count == 2)
        await pilot.pause(0.1)
        labels = [str(c.label) for c in table.columns.values()]
        assert {"scratch", "frozen", "finetune"} <= set(labels)
        assert table.virtual_size.width <= table.scrollable_content_region.width  # nothing off screen
        finetune = labels.index("finetune")
        assert {cell_text(table, r, finetune) for r in range(2)} == {"90.0%"}
        app.screen.query_one("#runs-filter", Input).focus()
        await pilot.press("a", "l", "p", "h", "a", "enter")
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen))
        assert app.screen.dashboard.state.run_id == RUNS[0]


async def test_no_color_drops_colours_and_keeps_bold(tmp_path, monkeypatch):
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "1")
    app = CifarTuiApp(tmp_path)
    assert app.no_color
    assert any(isinstance(f, NoColor) for f in app._filters)
    assert not any(isinstance(f, Monochrome) for f in app._filters)  # greys made a curve near-invisible


def test_every_study_series_has_its_own_colour_and_marker():
    from cifar_tui.engine.report.figures import STRATEGY_COLORS
    from cifar_tui.engine.study.report import EXTRA_COLORS, MARKERS, series_styles
    from cifar_tui.render.theme import EXTRA_PLOT_COLORS, SERIES_MARKERS, STRATEGY_PLOT_COLORS

    labels = ["scratch unfreeze=all", "frozen unfreeze=all", "finetune unfreeze=all", "finetune unfreeze=top3",
              "scratch unfreeze=top3"]
    for colors, extra, markers in ((STRATEGY_COLORS, EXTRA_COLORS, MARKERS),
                                   (STRATEGY_PLOT_COLORS, EXTRA_PLOT_COLORS, SERIES_MARKERS)):
        styles = series_styles(labels, colors, extra, markers)
        assert len({c for c, _ in styles.values()}) == len(labels)
        assert len({m for _, m in styles.values()}) == len(labels)
        assert styles["finetune unfreeze=all"][0] == colors["finetune"]  # the first keeps its strategy's colour


def test_live_curves_give_each_strategy_its_own_marker():
    from cifar_tui.engine.config.choices import STRATEGIES
    from cifar_tui.render.theme import STRATEGY_MARKERS

    assert set(STRATEGY_MARKERS) == set(STRATEGIES) and len(set(STRATEGY_MARKERS.values())) == len(STRATEGIES)


async def test_with_no_color_a_warning_line_is_bold_and_reversed(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    state = RunState(run_id="20270115-080000-demo-abcd", status="finished",
                     notices=["NO PRETRAINED WEIGHTS: EfficientNet from random init"])
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(RunViewScreen(state, title="no colour"))
        await pilot.pause(0.2)
        notices = app.screen.query_one("#notices")
        assert notices.display and notices.styles.text_style.bold and notices.styles.text_style.reverse


async def test_the_info_line_stays_one_line_in_the_app_at_80_columns(tmp_path):
    """The Live screen at 80x24 with the backend on the info line: a long run id is shortened and the line
    stays one (the Static wrapped it onto a second line, pushing every panel down)."""
    state = RunState(run_id="20261129-131643-app1-742ed325", status="running",
                     dataset={"name": "digits", "train": 1293, "val": 144, "test": 200},
                     weights={"pretrained": False},
                     environment={"device": "CPU", "precision": "float32", "backend": "tensorflow"})
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunViewScreen(state, title="one line"))
        await pilot.pause(0.2)
        line = app.screen.query_one("#info-line")
        assert line.size.height == 1
        # the shortened id (the name and random part) leaves room for the device, precision and backend
        assert "".join(seg.text for seg in line.render_line(0)).rstrip().endswith("│CPU float32 tensorflow")
