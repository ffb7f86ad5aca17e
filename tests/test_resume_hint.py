"""The resume hint after a stop (headless Ctrl-C or SIGTERM, the app's `q`) works when pasted: it names the
runs folder the run is in unless a bare `cifar-tui` would find it there (issue #25 section 6)."""

from __future__ import annotations

from types import SimpleNamespace

from cifar_tui.cli.headless import print_outcome
from cifar_tui.cli.launch import closing_lines
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store.paths import resume_command

RUN = "20270115-080000-demo-abcd"


def test_the_hint_names_a_runs_folder_other_than_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("CIFAR_TUI_RUNS", raising=False)
    assert resume_command(RUN, tmp_path) == f"cifar-tui resume {RUN} --runs-dir {tmp_path}"
    assert resume_command(RUN, "runs") == f"cifar-tui resume {RUN}"
    assert resume_command(RUN, tmp_path / "with space") == f"cifar-tui resume {RUN} --runs-dir '{tmp_path}/with space'"
    monkeypatch.setenv("CIFAR_TUI_RUNS", str(tmp_path))  # found without the flag
    assert resume_command(RUN, tmp_path) == f"cifar-tui resume {RUN}"


def test_the_app_and_the_headless_run_give_the_whole_command(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CIFAR_TUI_RUNS", raising=False)
    state = RunState(run_id=RUN, status="cancelled", started=1.0)
    assert closing_lines(state, tmp_path)[-1] == f"continue it with: cifar-tui resume {RUN} --runs-dir {tmp_path}"
    outcome = SimpleNamespace(run_id=RUN, path=tmp_path / RUN, summary={**state.summary(), "status": "interrupted"})
    print_outcome(outcome, json_out=False)
    assert f"continue it with: cifar-tui resume {RUN} --runs-dir {tmp_path}" in capsys.readouterr().out
