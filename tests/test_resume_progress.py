"""After `u` (resume), the progress row says what the resumed run is doing: until its first batch it read
the phase, epoch and batch figures of the attempt before the interruption (while JAX compiled, say)."""

from __future__ import annotations

import threading

from events_factory import T0, run_started, strategy_events
from test_app import open_runs_screen, select_run, until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.widgets.progress_panel import StrategyRow
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.recorder import RunRecorder

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


def resumed_state(from_epochs: dict[str, int]):
    """A run of scratch (3 epochs, cancelled after all 3, untested) and frozen (never started), resumed."""
    from cifar_tui.engine.run.state import RunState

    done = [e for e in strategy_events("scratch") if not isinstance(e, ev.Evaluated | ev.StrategyFinished)]
    state = RunState.from_events([run_started(STOPPED, strategies=("scratch", "frozen")), *done,
                                  ev.StrategyFinished(strategy="scratch", status="cancelled", seconds=6.5,
                                                      trainable_params=100, total_params=1000, time=T0),
                                  ev.RunFinished(status="cancelled", seconds=7.0, time=T0)])
    state.apply(ev.RunResumed(run_id=STOPPED, environment={}, from_epochs=from_epochs))
    return state


def test_only_a_strategy_with_checkpointed_epochs_is_resuming_and_its_time_keeps_them():
    """A strategy that never ran (0 epochs done) read 'resuming 1/N'; one stopped after its last epoch read
    'resuming 4/3'; and a resumed strategy's time was the last attempt's alone (0m01s for a test)."""
    state = resumed_state({"scratch": 3, "frozen": 0})
    assert state.strategies["frozen"].resumed_at == 0  # it starts, it does not resume
    scratch = state.strategies["scratch"]
    assert scratch.resumed_at == 4 and scratch.epochs == 3  # the panel says 'resumed: test' (below)
    state.apply(ev.StrategyStarted(strategy="scratch", image_size=32, epochs=3, steps_per_epoch=4,
                                   total_params=1000, weights="test", time=T0))
    state.apply(ev.StrategyFinished(strategy="scratch", status="finished", seconds=1.0, trainable_params=100,
                                    total_params=1000, time=T0))
    assert scratch.seconds == 1.0 + 3 * 2.0  # the test now plus its three epochs of 2 s before the stop


async def test_a_strategy_resumed_after_its_last_epoch_reads_resumed_test(tmp_path):

    state = resumed_state({"scratch": 3, "frozen": 0})
    state.apply(ev.StrategyStarted(strategy="scratch", image_size=32, epochs=3, steps_per_epoch=4,
                                   total_params=1000, weights="test", time=T0))
    rows = await progress_rows(tmp_path, state)
    assert rows["scratch"][0] == "resumed: test" and rows["frozen"][0] != "resuming 1/3", rows


def stopped_after_two_epochs():
    """scratch: 5 epochs at 100 img/s, cancelled after epoch 2 (best validation 45% at epoch 2, untested)."""
    from cifar_tui.engine.run.state import RunState

    events = strategy_events("scratch", epochs=5, accs=(0.3, 0.45, 0.4, 0.5, 0.6))
    second = [i for i, e in enumerate(events) if isinstance(e, ev.EpochEnd)][1]
    return RunState.from_events([run_started(STOPPED, strategies=("scratch",)), *events[:second + 1],
                                 ev.StrategyFinished(strategy="scratch", status="cancelled", seconds=65.0,
                                                     trainable_params=100, total_params=1000, time=T0),
                                 ev.RunFinished(status="cancelled", seconds=66.0, time=T0)])


def test_a_running_resumed_strategy_shows_this_attempts_figures_and_its_best_so_far():
    """Its comparison row read 'running - - … 1m05s 100': the stopped attempt's time and img/s as if current,
    and no best validation although its finished epochs' best was known (shown for it when cancelled)."""
    from cifar_tui.render.tables import comparison_cells

    state = stopped_after_two_epochs()
    assert comparison_cells(state.strategies["scratch"].summary())[:3] == ["cancelled", "(45.0%@2)", "untested"]
    state.apply(ev.RunResumed(run_id=STOPPED, environment={}, from_epochs={"scratch": 2}))
    state.apply(ev.StrategyStarted(strategy="scratch", image_size=32, epochs=5, steps_per_epoch=4,
                                   total_params=1000, weights="test", time=T0))
    scratch = state.strategies["scratch"]
    status, best, test, _epochs, _params, took, rate = comparison_cells(scratch.summary())
    assert (status, best, test, took, rate) == ("running", "(45.0%@2)", "-", "-", "-")  # nothing measured yet
    state.apply(ev.BatchEnd(strategy="scratch", phase="train", epoch=3, step=1, steps=4, loss=1.0, accuracy=0.3,
                            images_per_s=50.0, time=T0))
    assert comparison_cells(scratch.summary())[-1] == "50"  # this attempt's rate
    state.apply(ev.EpochEnd(strategy="scratch", phase="train", epoch=3, epochs=5, loss=1.0, accuracy=0.4,
                            val_loss=1.0, val_accuracy=0.48, learning_rate=1e-3, seconds=3.0, images_per_s=70.0,
                            time=T0))
    assert comparison_cells(scratch.summary())[1::5] == ["(48.0%@3)", "70"]  # not the mean with the old 100s
    state.apply(ev.StrategyFinished(strategy="scratch", status="cancelled", seconds=3.5, trainable_params=100,
                                    total_params=1000, time=T0))
    assert scratch.seconds == 3.5 + 2 * 2.0  # once stopped again: its kept epochs' time counts, as before


def test_a_fresh_running_strategy_shows_its_best_so_far_the_same_way():
    from cifar_tui.engine.run.state import RunState
    from cifar_tui.render.tables import comparison_cells

    events = strategy_events("scratch", epochs=5, accs=(0.3, 0.45, 0.4, 0.5, 0.6))
    first = next(i for i, e in enumerate(events) if isinstance(e, ev.EpochEnd))
    state = RunState.from_events([run_started(STOPPED, strategies=("scratch",)), *events[:first + 2]])
    assert comparison_cells(state.strategies["scratch"].summary())[:3] == ["running", "(30.0%@1)", "-"]


async def test_a_new_phase_drops_the_previous_phases_rate_and_eta(tmp_path):
    """At the switch to fine-tuning the row read 'fine-tune 1/3 … 100 img/s ETA …': the head phase's last
    batch figures (a cached head phase runs at many times the rate) under the new phase's name."""
    from cifar_tui.app.widgets.progress_panel import eta_seconds
    from cifar_tui.engine.run.state import RunState

    events = strategy_events("finetune", phases=PHASES)
    head_end = next(i for i, e in enumerate(events) if isinstance(e, ev.EpochEnd))
    state = RunState.from_events([run_started(STOPPED, strategies=("finetune",)), *events[:head_end + 2]])
    finetune = state.strategies["finetune"]
    assert finetune.phase == "finetune" and finetune.images_per_s is None and eta_seconds(finetune, 16) is None
    assert await progress_rows(tmp_path, state) == {"finetune": ("fine-tune 2/3", "fine-tune phase, starting")}


async def progress_rows(tmp_path, state) -> dict[str, tuple[str, str]]:
    """Each strategy's (status, figures) as the progress panel draws `state` at 80x24."""
    from cifar_tui.app.widgets.progress_panel import ProgressPanel

    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = ProgressPanel()
        await app.screen.mount(panel)
        panel.show(state)
        await pilot.pause()
        return {r.strategy: (str(r.status.render()), str(r.stats.render())) for r in panel.query(StrategyRow)}
