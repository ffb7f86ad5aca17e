"""After `u` (resume), the progress row says what the resumed run is doing: until its first batch it read
the phase, epoch and batch figures of the attempt before the interruption (while JAX compiled, say)."""

from __future__ import annotations

import threading

from events_factory import T0, run_started, strategy_events
from test_app import open_runs_screen, select_run, until

from engine import events as ev
from engine.store.recorder import RunRecorder
from tui.app import CifarTuiApp
from tui.widgets.progress_panel import StrategyRow

STOPPED = "20270118-080000-stopped-0004"
PHASES = [("head", 1), ("finetune", 2)]


def record_run_stopped_in_finetune(runs_dir):
    """finetune cancelled in its third (last) epoch, inside the unfrozen phase, after a batch of it."""
    events = [e for e in strategy_events("finetune", phases=PHASES)
              if not isinstance(e, ev.Evaluated | ev.StrategyFinished)]
    third = next(i for i, e in enumerate(events) if isinstance(e, ev.BatchEnd) and e.epoch == 3)
    recorder = RunRecorder(runs_dir, STOPPED)
    for e in [run_started(STOPPED, strategies=("finetune",)), *events[:third + 2],
              ev.RunFinished(status="cancelled", seconds=5.0, time=T0)]:
        recorder(e)
    recorder.close()


class ManualResumer:
    """Holds the resumed run in its worker; the test sends its events one stage at a time."""

    def __init__(self):
        self.sink, self.stop_event, self.started = None, None, threading.Event()

    def __call__(self, plan, sink, stop_event):
        self.sink, self.stop_event = sink, stop_event
        self.started.set()
        stop_event.wait(timeout=60)
        sink(ev.RunFinished(status="cancelled", seconds=1.0))


def row_text(app) -> tuple[str, str]:
    row = next(r for r in app.screen.query(StrategyRow) if r.strategy == "finetune")
    return str(row.status.render()), str(row.stats.render())


async def test_the_progress_row_shows_the_resumed_attempt_not_the_stopped_one(tmp_path):
    record_run_stopped_in_finetune(tmp_path)
    resumer = ManualResumer()
    app = CifarTuiApp(tmp_path, resumer=resumer)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 1)
        select_run(table, STOPPED)
        await pilot.press("u")
        await until(pilot, resumer.started.is_set)
        resumer.sink(ev.RunResumed(run_id=STOPPED, environment={"device": "CPU"}, from_epochs={"finetune": 2}))
        resumer.sink(ev.StrategyStarted(strategy="finetune", image_size=32, epochs=3, steps_per_epoch=4,
                                        total_params=1000, weights="test"))
        await until(pilot, lambda: app.live_state.strategies["finetune"].status == "running")
        await pilot.pause(0.6)  # the progress timer
        status, stats = row_text(app)
        # epoch 3 is next (2 are checkpointed); the old attempt's phase, epoch and loss are gone
        assert status == "resuming 3/3" and "loss" not in stats and "starting" in stats, (status, stats)
        resumer.sink(ev.PhaseStarted(strategy="finetune", phase="finetune", first_epoch=2, epochs=2,
                                     learning_rate=1e-5, trainable_params=900))
        await until(pilot, lambda: "fine-tune" in row_text(app)[1])
        assert row_text(app)[0] == "resuming 3/3"  # the first batch compiles (JAX): still nothing measured
        resumer.sink(ev.BatchEnd(strategy="finetune", phase="finetune", epoch=3, step=1, steps=4, loss=0.5,
                                 accuracy=0.8, images_per_s=50.0))
        await until(pilot, lambda: row_text(app)[0] == "fine-tune 3/3")
        assert "loss 0.500" in row_text(app)[1]
        resumer.stop_event.set()
