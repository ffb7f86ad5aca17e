"""A stop (SIGTERM, SIGHUP, Ctrl-C) that comes after every strategy has finished stopped nothing: the run is
recorded finished, no resume is suggested, and an older run left 'interrupted' that way is closed by
`cifar-tui resume` instead of staying interrupted for good."""

from __future__ import annotations

import threading

from events_factory import run_started, strategy_events
from test_cli import runner as cli_runner

from cifar_tui.cli.main import app as cli_app
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.session import record_and_run
from cifar_tui.engine.store.reader import list_runs, load_run
from cifar_tui.engine.store.recorder import RunRecorder

ENDED = "20270120-080000-ended-0006"


class Signalled(threading.Event):
    reason = ""


def test_a_stop_after_the_last_strategy_finished_leaves_the_run_finished(cifar_dir, tmp_path):
    stop = Signalled()

    def sigterm_after_the_last_strategy(event):  # as the CLI's handler does, while the run is being closed
        if isinstance(event, ev.StrategyFinished) and event.strategy == "scratch":
            stop.reason = "stopped by SIGTERM"
            stop.set()

    config = ExperimentConfig(data_dir=str(cifar_dir), strategies=("scratch",), scratch_epochs=1, batch_size=16,
                              test_limit=20, run_eagerly=True, name="late")
    runs = tmp_path / "runs"
    outcome = record_and_run(config, runs, display=sigterm_after_the_last_strategy, stop_event=stop,
                             redirect_native_log=False)
    assert stop.is_set()
    assert outcome.summary["status"] == "finished" and outcome.summary["error"] == ""
    (listing,) = list_runs(runs)
    assert listing.status == "finished"
    log = [m for _level, m in load_run(runs, outcome.run_id).state.log]
    assert "stopped by SIGTERM after every strategy had ended: nothing was stopped" in log


def record_ended_but_interrupted(runs_dir):
    """An older run's log: scratch finished and tested, then SIGTERM recorded the run interrupted."""
    recorder = RunRecorder(runs_dir, ENDED)
    for e in [run_started(ENDED, strategies=("scratch",)), *strategy_events("scratch"),
              ev.RunFinished(status="interrupted", seconds=7.0, error="stopped by SIGTERM")]:
        recorder(e)
    recorder.close()


def test_resume_closes_an_interrupted_run_whose_every_strategy_finished(tmp_path):
    record_ended_but_interrupted(tmp_path)
    assert list_runs(tmp_path)[0].status == "interrupted"
    result = cli_runner.invoke(cli_app, ["resume", ENDED, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "every strategy had finished before it was recorded interrupted" in result.output
    (listing,) = list_runs(tmp_path)
    assert listing.status == "finished" and listing.seconds == 7.0
    state = load_run(tmp_path, ENDED).state
    assert state.status == "finished" and state.strategies["scratch"].test_accuracy == 0.5
    again = cli_runner.invoke(cli_app, ["resume", ENDED, "--runs-dir", str(tmp_path)])
    assert again.exit_code == 2 and "finished; nothing to resume" in again.output


def test_the_cli_suggests_no_resume_for_a_run_whose_strategies_all_finished(tmp_path, monkeypatch):
    """`cifar-tui run` signalled while closing the run: it said 'continue it with: cifar-tui resume ...',
    which then answered 'nothing to resume' (exit 2). Now: finished, no such line, exit 0."""
    import os
    import signal

    import cifar_tui.cli.progress as cli_progress

    plain = cli_progress.progress_sink

    class SignalledSink:  # the CLI's own progress lines, and SIGTERM once the last strategy has finished
        def __init__(self, *args, **kwargs):
            self.shown = plain(*args, **kwargs)

        def __call__(self, event):
            self.shown(event)
            if isinstance(event, ev.StrategyFinished):  # the only strategy
                os.kill(os.getpid(), signal.SIGTERM)

        def close(self):
            self.shown.close()

    monkeypatch.setattr(cli_progress, "progress_sink", SignalledSink)
    result = cli_runner.invoke(cli_app, ["run", "--dataset", "digits", "--strategies", "scratch", "--runs-dir",
                                         str(tmp_path), "--train-per-class", "6", "--test-limit", "20",
                                         "--epochs", "1", "--batch-size", "16", "--eager", "--plain"])
    assert result.exit_code == 0, result.output
    assert "continue it with" not in result.output and "(finished)" in result.output
    assert "SIGTERM came after every strategy had ended; the run is finished" in result.output
    assert list_runs(tmp_path)[0].status == "finished"
