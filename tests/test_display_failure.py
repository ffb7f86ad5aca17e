"""A terminal that goes away (EIO after an SSH drop or `tmux kill-session`) or a pipe whose reader left
(`cifar-tui run ... | head -2`: EPIPE) ended the training through the progress display, with no
`run_finished` recorded: the run's summary said "running" for good. The display is now best-effort."""

from __future__ import annotations

import errno

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.session import record_and_run
from cifar_tui.engine.store.reader import list_runs, load_run


def test_a_display_that_fails_is_dropped_and_the_run_is_recorded_to_its_end(cifar_dir, tmp_path):
    shown = []

    def terminal_gone(event):
        shown.append(event)
        if isinstance(event, ev.EpochEnd):
            raise OSError(errno.EIO, "Input/output error")

    config = ExperimentConfig(data_dir=str(cifar_dir), strategies=("scratch",), scratch_epochs=2, batch_size=16,
                              test_limit=20, run_eagerly=True, name="eio")
    runs = tmp_path / "runs"
    outcome = record_and_run(config, runs, display=terminal_gone, redirect_native_log=False)
    assert outcome.summary["status"] == "finished"
    (listing,) = list_runs(runs)
    assert listing.status == "finished"
    state = load_run(runs, outcome.run_id).state
    assert len(state.strategies["scratch"].history) == 2 and state.strategies["scratch"].test_accuracy is not None
    assert any("the terminal output failed (OSError: [Errno 5] Input/output error)" in m for _, m in state.log)
    assert not any(isinstance(e, ev.EpochEnd) and e.epoch == 2 for e in shown)  # dropped after the failure


class DeadTerminal:
    """A terminal that answers EIO to every write once `gone` is set (an SSH drop)."""

    def __init__(self) -> None:
        self.gone = False

    def write(self, text: str) -> int:
        if self.gone:
            raise OSError(errno.EIO, "Input/output error")
        return len(text)

    def flush(self) -> None:
        if self.gone:
            raise OSError(errno.EIO, "Input/output error")

    def isatty(self) -> bool:
        return True


def test_a_live_display_dropped_mid_run_closes_quietly():
    """Dropped at its first EIO, a Rich display still raised EIO when the CLI closed it afterwards: a
    traceback for a headless run, and a study stopped after that cell."""
    from rich.console import Console

    from cifar_tui.cli.progress import RichProgress
    from cifar_tui.engine.run.events import best_effort

    terminal, recorded = DeadTerminal(), []
    progress = RichProgress(Console(file=terminal, width=80, force_terminal=True))
    display = best_effort(progress, recorded.append)
    display(ev.RunStarted(run_id="20270115-080000-demo-abcd", config={}, environment={}, dataset={}, weights={}))
    terminal.gone = True
    display(ev.StrategyStarted(strategy="scratch", image_size=32, epochs=2, steps_per_epoch=4, total_params=10,
                               weights="random init"))
    display(ev.RunFinished(status="finished", seconds=1.0))  # dropped: nothing more reaches the terminal
    progress.close()  # as the CLI does at the end: no OSError
    assert [type(e) for e in recorded] == [ev.LogMessage] and not progress.progress.live.is_started
