"""Records say what ran (issue #25 section 2): every view shows the effective configuration, and the request
only where it differs, marked; the config diff leaves out keys that no strategy of either run used."""

from __future__ import annotations

import json

from events_factory import full_run
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.cli.main import app as cli
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.config.config_diff import config_diff
from cifar_tui.engine.config.effective_config import effective_config, unused_keys
from cifar_tui.engine.report.export import export_run
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.reader import load_run
from cifar_tui.engine.store.recorder import RunRecorder

runner = CliRunner()
FALLBACK = "20270115-080000-fallback-0001"  # `make run` offline: asked for CIFAR-10 and ImageNet
DIGITS = "20270116-080000-digits-0002"  # asked for digits from random init outright


def record(runs_dir, run_id, asked: dict, trained_on: str, weights: dict, environment: dict | None = None):
    config = ExperimentConfig(**asked).to_dict()
    recorder = RunRecorder(runs_dir, run_id)
    for event in full_run(run_id):
        if isinstance(event, ev.RunStarted):
            event.config = config
            event.dataset = {**event.dataset, "name": trained_on, "substituted_for": asked.get("dataset", "")}
            event.weights = weights
            event.environment = {**event.environment, **(environment or {"precision": "float32", "jit": False})}
        recorder(event)
    recorder.close()


RANDOM = {"requested": "imagenet", "path": None, "label": "random init (NO pretrained weights)",
          "pretrained": False, "notice": "RANDOM INIT USED INSTEAD OF IMAGENET WEIGHTS: offline"}
ASKED_NONE = {**RANDOM, "requested": "none", "notice": ""}


def record_pair(runs_dir):
    record(runs_dir, FALLBACK, {"dataset": "cifar10", "allow_fallback": True, "augment": "translate"}, "digits",
           RANDOM)
    record(runs_dir, DIGITS, {"dataset": "digits", "weights": "none", "augment": "translate"}, "digits",
           ASKED_NONE)


def test_the_effective_configuration_is_what_trained_with_the_request_beside_it():
    asked = ExperimentConfig(dataset="cifar10", allow_fallback=True).to_dict()
    recorded = effective_config(asked, {"name": "digits", "augmentation": "translate"}, RANDOM,
                                {"precision": "float32", "jit": False, "backend": "jax"})
    assert recorded.effective["dataset"] == "digits" and recorded.effective["weights"] == "none"
    assert recorded.effective["precision"] == "float32" and recorded.effective["backend"] == "jax"
    assert recorded.requested == {"dataset": "cifar10", "weights": "imagenet", "precision": "auto", "jit": "auto",
                                  "backend": "tensorflow", "augment": "auto"}
    pretrained = {"requested": "imagenet", "path": "/k/efficientnetb0_notop.h5", "pretrained": True}
    assert effective_config(asked, {"name": "cifar10"}, pretrained, {}).requested == {}


def test_keys_no_strategy_reads_are_not_used():
    scratch = unused_keys(ExperimentConfig(strategies=("scratch",)).to_dict())
    assert {"frozen_lr", "weights", "airbench_epochs"} <= scratch
    assert not {"scratch_lr", "seed", "dataset", "batch_size"} & scratch
    airbench = unused_keys(ExperimentConfig(strategies=("scratch",), scratch_model="airbench").to_dict())
    assert "airbench_epochs" not in airbench and {"scratch_lr", "dropout"} <= airbench
    chained = unused_keys(ExperimentConfig(finetune_from="frozen").to_dict())
    assert "head_epochs" in chained and "frozen_epochs" not in chained


def test_the_diff_leaves_out_keys_no_strategy_of_either_run_used():
    scratch = ExperimentConfig(strategies=("scratch",))
    a, b = scratch.to_dict(), scratch.replace(frozen_lr=3e-4, finetune_lr=1e-3, seed=1).to_dict()
    assert list(config_diff([a, b])) == ["seed"]
    # used by one run only: no difference; used by two of three: compared between those, "not used" in the third
    both = ExperimentConfig(strategies=("scratch", "frozen"))
    diff = config_diff([both.to_dict(), both.replace(frozen_lr=3e-4).to_dict(), a])
    assert [s.text() for s in diff["frozen_lr"]] == ["0.001", "0.0003", "(not used)"]
    assert "frozen_lr" not in config_diff([both.to_dict(), a | {"frozen_lr": 0.5}])


def test_runs_compare_shows_what_trained_and_marks_the_request(tmp_path):
    record_pair(tmp_path)
    result = runner.invoke(cli, ["runs", "compare", "fallback", "digits", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    diff_part = result.output.split("strategy  status")[0]
    assert "digits (asked cifar10)" in diff_part and "none (asked imagenet)" in diff_part
    assert "(asked X): what the run asked for" in diff_part
    data = json.loads(runner.invoke(cli, ["runs", "compare", "fallback", "digits", "--runs-dir", str(tmp_path),
                                          "--json"]).output)
    assert data[0]["config_diff"]["dataset"] == data[1]["config_diff"]["dataset"] == "digits"
    assert data[0]["config_diff_requested"] == {"dataset": "cifar10", "weights": "imagenet"}
    assert data[1]["config_diff_requested"] == {}
    assert data[0]["effective_config"]["weights"] == "none" and data[0]["config"]["weights"] == "imagenet"


def test_runs_that_asked_alike_but_trained_on_other_data_differ_there(tmp_path):
    """Both asked for CIFAR-10 with a fallback; one had it, one fell back to digits: the diff says so (it used
    to find the two identical but for the seed)."""
    imagenet = {"requested": "imagenet", "path": "/k/efficientnetb0_notop.h5", "label": "ImageNet", "pretrained": True}
    record(tmp_path, FALLBACK, {"dataset": "cifar10", "allow_fallback": True}, "digits", RANDOM)
    record(tmp_path, DIGITS, {"dataset": "cifar10", "allow_fallback": True, "seed": 1}, "cifar10", imagenet)
    data = json.loads(runner.invoke(cli, ["runs", "compare", "fallback", "digits", "--runs-dir", str(tmp_path),
                                          "--json"]).output)
    assert data[0]["config_diff"] == {"seed": 0, "dataset": "digits", "weights": "none"}
    assert data[1]["config_diff"] == {"seed": 1, "dataset": "cifar10", "weights": "imagenet"}


def test_the_report_states_the_effective_configuration(tmp_path):
    record_pair(tmp_path)
    page = export_run(load_run(tmp_path, FALLBACK).state, tmp_path / "out").read_text()
    config = page.split("## Configuration")[1]
    assert "**dataset: digits (asked cifar10)**" in config and "**weights: none (asked imagenet)**" in config
    recorded = json.loads(config.split("```json")[1].split("```")[0])
    assert recorded["dataset"] == "digits" and recorded["weights"] == "none" and recorded["precision"] == "float32"


async def test_the_compare_screen_shows_what_trained(tmp_path):
    from cifar_tui.app.screens.compare import CompareScreen

    record_pair(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CompareScreen([(r, load_run(tmp_path, r).state) for r in (FALLBACK, DIGITS)]))
        await pilot.pause(0.3)
        table = app.screen.query_one("#compare-diff", DataTable)
        rows = {str(table.get_cell_at(Coordinate(r, 0))): [str(table.get_cell_at(Coordinate(r, c))) for c in (1, 2)]
                for r in range(table.row_count)}
        assert rows["dataset"] == ["digits (asked cifar10)", "digits"]
        assert rows["weights"] == ["none (asked imagenet)", "none"]


def test_airbenchs_epochs_and_batch_are_recorded_as_they_trained():
    """Asked: the reference's (None). Trained: its 9.9 epochs and a batch capped at the ~45 training images
    (issue #24 s.2), resolved when the run prepares its data and recorded with its environment (RunStarted);
    config.json keeps the request, the effective configuration says what ran."""
    from cifar_tui.engine.config.presets import preset_config
    from cifar_tui.engine.run.runner import _prepare

    config = preset_config("quick", strategies=("scratch",), dataset="digits", weights="none", checkpoints=False,
                           scratch_model="airbench", train_per_class=5, test_limit=50, val_fraction=0.1)
    data, environment, _ = _prepare(config, lambda _text: None)
    recorded = effective_config(config.to_dict(), data.details, {}, environment)
    assert config.airbench_epochs is None and config.airbench_batch_size is None
    train = len(data.y_train)  # 5 per class, less what validation took
    assert train < 1024 and recorded.effective["airbench_epochs"] == 9.9
    assert recorded.effective["airbench_batch_size"] == train
    assert recorded.requested["airbench_batch_size"] == "the reference's"
    assert "scratch_lr" in recorded.unused and "airbench_epochs" not in recorded.unused
