"""A terminal that goes away (EIO after an SSH drop or `tmux kill-session`) or a pipe whose reader left
(`cifar-tui run ... | head -2`: EPIPE) ended the training through the progress display, with no
`run_finished` recorded: the run's summary said "running" for good. The display is now best-effort."""

from __future__ import annotations

import errno

from engine import events as ev
from engine.config import ExperimentConfig
from engine.session import record_and_run
from engine.store.reader import list_runs, load_run


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
