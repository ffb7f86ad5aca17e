"""Study messages a user acts on: the "continue it with" line works when pasted; TOML booleans are checked."""

from __future__ import annotations

import shlex
import signal
from contextlib import contextmanager

import pytest
from test_study import TINY
from typer.testing import CliRunner

from cifar_tui.cli.headless import StopRequest
from cifar_tui.cli.main import app
from cifar_tui.engine.errors import ConfigError
from cifar_tui.engine.study.spec import parse_spec

runner = CliRunner()


# (augment is a word since issue #12: "none", "translate", ...; checkpoints is a boolean knob)
@pytest.mark.parametrize("where", [{"base": {**TINY["base"], "checkpoints": "false"}},
                                   {"axes": {"checkpoints": ["false", True]}, "x": "checkpoints"}])
def test_a_quoted_boolean_is_refused(where):
    with pytest.raises(ConfigError, match=r"checkpoints must be true or false .* got 'false'"):
        parse_spec({**TINY, **where})


def test_a_real_boolean_is_kept():
    spec = parse_spec({**TINY, "base": {**TINY["base"], "checkpoints": False}})
    assert all(cell.config.checkpoints is False for cell in spec.cells())


@pytest.mark.parametrize("written", ["true", "True", True])
def test_a_boolean_reference_is_named_in_toml_spelling_too(written):
    """`reference = "true"` for an augment axis of booleans was refused; only Python's "True" worked."""
    spec = parse_spec({**TINY, "axes": {"augment": [True, False], "seed": [0]}, "x": "augment",
                       "reference": written})
    assert spec.reference is True


def test_the_continue_line_of_a_stopped_shipped_study_works_when_pasted(tmp_path, monkeypatch):
    @contextmanager
    def stopped_by_ctrl_c():
        event = StopRequest()
        event.set()
        yield event, [signal.SIGINT]

    monkeypatch.setattr("cifar_tui.cli.study.stop_on_signals", stopped_by_ctrl_c)
    studies = []  # (name, fingerprint, runs folder) of each study the command would run or continue
    monkeypatch.setattr("cifar_tui.engine.study.runner.run_study", lambda spec, folder, *args, **kwargs:
                        studies.append((spec.name, spec.fingerprint(), folder)) or [])
    monkeypatch.setattr("cifar_tui.cli.study.load_study", lambda folder, name: (None, [], []))
    monkeypatch.setattr("cifar_tui.cli.study.print_study", lambda *args, **kwargs: None)
    runs = tmp_path / "my runs"
    args = ["study", "data-efficiency", "--preset", "quick", "--set", "dataset=digits", "--set",
            "strategies=['scratch']", "--set", "variant=['standard']", "--name", "mine", "--runs-dir", str(runs)]
    result = runner.invoke(app, args)
    assert result.exit_code == 130
    line = next(x for x in result.output.splitlines() if "continue it with:" in x)
    pasted = shlex.split(line.split("continue it with:", 1)[1])
    assert pasted[:2] == ["cifar-tui", "study"]
    runner.invoke(app, pasted[1:])
    assert len(studies) == 2 and studies[0] == studies[1]  # the same grid, name and folder


def test_a_failed_cells_reason_reaches_the_exported_report(tmp_path):
    from events_factory import run_started, strategy_events

    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.store.recorder import RunRecorder
    from cifar_tui.engine.study.record import new_record
    from cifar_tui.engine.study.report import export_study, study_json
    from cifar_tui.engine.study.stats import aggregate, cell_results

    record = new_record(parse_spec(TINY))
    runs = tmp_path / "runs"
    for i, cell in enumerate(record.cells):
        run_id = f"20270115-08000{i}-cell-000{i}"
        cell.run_ids.append(run_id)
        recorder = RunRecorder(runs, run_id)
        recorder(run_started(run_id, strategies=("scratch",)))
        if i == 1:
            recorder(ev.StrategyFailed(strategy="scratch", error="loss became NaN at epoch 2"))
            recorder(ev.RunFinished(status="failed", seconds=1.0, error="scratch failed"))
        else:
            for event in strategy_events("scratch"):
                recorder(event)
            recorder(ev.RunFinished(status="finished", seconds=1.0))
        recorder.close()
    results = cell_results(record, runs)
    conditions = aggregate(results)
    page = export_study(record, results, conditions, tmp_path / "report")
    text = page.read_text()
    assert f"cell 2 {record.cells[1].label}: failed - scratch: loss became NaN at epoch 2" in text
    assert study_json(record, results, conditions)["cells"][1]["reason"] == "scratch: loss became NaN at epoch 2"
