"""Quitting the app mid-run (q, then y) left the shell with nothing said: the run was recorded cancelled, but
only `runs list` told which and how to continue it (the headless `run` prints both)."""

from __future__ import annotations

from cifar_tui.cli.launch import closing_lines
from cifar_tui.engine.run.state import RunState

RUN = "20270115-080000-demo-abcd"


def test_a_run_left_stopped_is_named_with_how_to_continue_it():
    for status in ("cancelled", "interrupted"):
        assert closing_lines(RunState(run_id=RUN, status=status, started=1.0)) == [
            f"cifar-tui: run {RUN} {status}", f"continue it with: cifar-tui resume {RUN}"]


def test_nothing_is_said_after_a_finished_run_or_none():
    assert closing_lines(RunState(run_id=RUN, status="finished", started=1.0)) == []
    assert closing_lines(RunState()) == []  # the app opened and closed without a run
    assert closing_lines(RunState(run_id=RUN, status="failed", started=None)) == []  # refused: nothing recorded
