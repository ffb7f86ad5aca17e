"""Studies a user can size (issue #25 section 4): --set on an axis picks its values (it was silently ignored),
a knob an axis sets is refused in one line, --dry-run says how many cells and how long here (and how it
knows), `study --list` names the shipped studies and their questions, and where there is no study one that
fits a CPU is suggested."""

from __future__ import annotations

import socket

import pytest
from events_factory import run_started, strategy_events
from test_app import until
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.cli.main import app as cli
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.recorder import RunRecorder
from cifar_tui.engine.study.estimate import FIRST_STEP_S, estimate_cells, image_passes
from cifar_tui.engine.study.spec import CPU_STUDY, load_spec, shipped_studies

runner = CliRunner()


def dry_run(tmp_path, *args):
    result = runner.invoke(cli, ["study", *args, "--dry-run", "--runs-dir", str(tmp_path)])
    return result.exit_code, result.output


def test_setting_an_axis_picks_its_values(tmp_path):
    code, out = dry_run(tmp_path, "resolution", "--set", "image_size=32")
    assert code == 0, out
    cells = [line for line in out.splitlines() if line.startswith("cell ")]
    assert len(cells) == 3 and all("image_size=32 " in line for line in cells)  # it listed 224 and 12 cells
    code, out = dry_run(tmp_path, "finetune-lr", "--set", "seed=[0]", "--set", "finetune_lr=[1e-4,1e-3]")
    assert "study finetune-lr: 4 cells" in out and "seed=1" not in out
    assert "finetune_lr=0.0001" in out  # "1e-4" as the spec spells it
    spec = load_spec("data-efficiency", {"seed": [0, 1, 2, 3, 4], "variant": "standard", "train_size": "10/class"})
    assert len(spec.cells()) == 5 and spec.reference is None  # the reference 1.0 was not picked: no comparison


@pytest.mark.parametrize("study, setting, says", [
    ("data-efficiency", "train_fraction=0.5", "train_size is an axis of study data-efficiency"),
    ("preprocessing-ablation", "input_scaling=unit", "variant(s) divided-by-255, both-mistakes set it"),
    ("finetune-lr", "seed=[]", "pick at least one value of seed"),
])
def test_a_setting_the_grid_would_overwrite_is_refused_in_one_line(tmp_path, study, setting, says):
    code, out = dry_run(tmp_path, study, "--set", setting)
    assert code == 2 and says in out and len(out.strip().splitlines()) == 1, out


def test_a_knob_a_variant_sets_is_taken_once_those_variants_are_left_out_in_any_order(tmp_path):
    """The refusal names its fix, --set variant=[...]: the fix works whether it comes before or after."""
    knob, pick = "strategies=['scratch']", "variant=['standard']"
    for first, second in ((knob, pick), (pick, knob)):
        code, out = dry_run(tmp_path, "data-efficiency", "--set", first, "--set", second)
        assert code == 0 and "study data-efficiency: 18 cells" in out, out
    code, out = dry_run(tmp_path, "data-efficiency", "--set", "strategies=['scratch']")
    assert code == 2 and "variant(s) airbench-muon set it" in out


def record_strategy(runs_dir, run_id, seconds: float, host: str):
    recorder = RunRecorder(runs_dir, run_id)
    started = run_started(run_id, strategies=("scratch",))
    started.config = ExperimentConfig(strategies=("scratch",), dataset="digits").to_dict()
    started.environment = {**started.environment, "host": host}
    finished = [e for e in strategy_events("scratch") if not isinstance(e, ev.StrategyFinished)]
    for event in [started, *finished,
                  ev.StrategyFinished(strategy="scratch", status="finished", seconds=seconds, trainable_params=1,
                                      total_params=1), ev.RunFinished(status="finished", seconds=seconds)]:
        recorder(event)
    recorder.close()


def test_the_estimate_comes_from_what_this_host_recorded(tmp_path):
    """The factory's run: 90 train, 10 validation, 40 test images, 3 epochs of scratch in 100 s."""
    record_strategy(tmp_path, "20270115-080000-here-0001", 100.0, socket.gethostname())
    record_strategy(tmp_path, "20270115-090000-elsewhere-0002", 1.0, "another-host")  # not this machine
    per_pass = (100.0 - FIRST_STEP_S["scratch"]) / image_passes(3, 90, 10, 40)  # one amount of work: the start known
    cell = ExperimentConfig(strategies=("scratch",), dataset="digits", scratch_epochs=5)
    estimate = estimate_cells([cell], tmp_path)
    from cifar_tui.engine.data.feasibility import split_counts

    assert estimate.seconds == pytest.approx(FIRST_STEP_S["scratch"] + per_pass * image_passes(5, *split_counts(cell)))
    assert estimate.measured == {"scratch"} and not estimate.table
    fresh = estimate_cells([cell], tmp_path / "none")
    assert fresh.table == {"scratch"} and fresh.seconds < estimate.seconds  # the CPU table: 1,300 img/s


def test_the_dry_run_says_how_many_cells_how_long_and_how_it_knows(tmp_path):
    code, out = dry_run(tmp_path, CPU_STUDY)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"study {CPU_STUDY}: 6 cells, 6 to run"
    assert lines[1].startswith("estimated time on this machine: about ")
    assert "training throughput measured on the project's 2-core CPU without GPU (not this machine's)" in lines[2]


def test_study_list_names_every_shipped_study_with_its_question():
    result = runner.invoke(cli, ["study", "--list"])
    assert result.exit_code == 0, result.output
    for name in shipped_studies():
        spec = load_spec(name)
        assert spec.question, name
        assert f"{name}  ({len(spec.cells())} cells" in result.output
        assert spec.question.split()[0] in result.output
    assert f"{CPU_STUDY}  (6 cells, preset quick, CPU-sized)" in result.output
    missing = runner.invoke(cli, ["study"])
    assert missing.exit_code == 2 and "cifar-tui study --list" in missing.output


def test_no_study_yet_suggests_the_cpu_sized_one(tmp_path):
    out = runner.invoke(cli, ["studies", "list", "--runs-dir", str(tmp_path)]).output
    assert f"cifar-tui study {CPU_STUDY}" in out and "study --list" in out
    spec = load_spec(CPU_STUDY)
    assert spec.base["preset"] == "quick" and len(spec.cells()) <= 8


async def test_the_empty_studies_screen_suggests_the_cpu_sized_one(tmp_path):
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("y")
        await until(pilot, lambda: "No studies yet" in str(app.screen.query_one("#study-stats").render()))
        assert f"cifar-tui study {CPU_STUDY}" in str(app.screen.query_one("#study-stats").render())
