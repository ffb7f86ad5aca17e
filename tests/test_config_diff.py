"""Config diffs: exactly the keys that differ, in `runs compare` (table and --json) and the Compare screen."""

from __future__ import annotations

import json

from events_factory import full_run
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.cli.main import app as cli
from cifar_tui.engine.config.config_diff import MISSING, config_diff
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.reader import load_run
from cifar_tui.engine.store.recorder import RunRecorder

runner = CliRunner()
BASE = {"strategies": ["scratch", "frozen", "finetune"], "name": "demo", "preset": "quick", "seed": 0,
        "learning_rate": 0.001, "augment": True}
RUNS = {"20270115-080000-alpha-0001": BASE,
        "20270116-080000-beta-0002": BASE | {"seed": 1, "learning_rate": 0.0003}}


def record(runs_dir, runs=RUNS):
    for run_id, config in runs.items():
        recorder = RunRecorder(runs_dir, run_id)
        for event in full_run(run_id):
            if isinstance(event, ev.RunStarted):
                event.config = dict(config)
            recorder(event)
        recorder.close()


def test_config_diff_keeps_exactly_the_differing_keys():
    a = {"seed": 0, "lr": 1e-3, "mix": {"on": True, "alpha": 0.2}, "same": [1, 2]}
    b = {"seed": 0, "lr": 3e-4, "mix": {"on": True, "alpha": 0.4}, "same": [1, 2], "new": "x"}
    values = {key: [s.value for s in settings] for key, settings in config_diff([a, b]).items()}
    assert values == {"lr": [1e-3, 3e-4], "mix.alpha": [0.2, 0.4], "new": [MISSING, "x"]}
    assert config_diff([a, dict(a)]) == {} and config_diff([a]) == {}


def test_runs_compare_prints_and_carries_the_diff(tmp_path):
    record(tmp_path)
    result = runner.invoke(cli, ["runs", "compare", "alpha", "beta", "--runs-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["config_diff"] for d in data] == [{"seed": 0, "learning_rate": 0.001},
                                                {"seed": 1, "learning_rate": 0.0003}]
    text = runner.invoke(cli, ["runs", "compare", "alpha", "beta", "--runs-dir", str(tmp_path)]).output
    diff_part = text.split("run ")[0]  # the diff table comes before the results table
    assert "learning_rate" in diff_part and "0.0003" in diff_part and "seed" in diff_part
    assert "augment" not in text and "preset" not in text  # equal keys are not shown


async def test_compare_screen_shows_the_differing_keys_above_the_results(tmp_path):
    from cifar_tui.app.screens.compare import CompareScreen

    record(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(CompareScreen([(run_id, load_run(tmp_path, run_id).state) for run_id in RUNS]))
        await pilot.pause(0.3)
        screen = app.screen
        table = screen.query_one("#compare-diff", DataTable)
        keys = [str(table.get_cell_at(Coordinate(row, 0))) for row in range(table.row_count)]
        assert keys == ["seed", "learning_rate"] == list(screen.diff)
        headers = [str(column.label) for column in table.columns.values()]
        cells = [str(table.get_cell_at(Coordinate(row, col))) for row in range(2) for col in range(1, 3)]
        assert "alpha-0001" in headers and "0.0003" in cells
        assert "2 keys that differ" in str(screen.query_one("#compare-diff-title", Static).render())
        assert table.region.y < screen.query_one("#compare-table").region.y
