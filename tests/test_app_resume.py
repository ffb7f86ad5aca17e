"""The app's Resume action (`u` on the Runs screen) continues a stopped run on the Live screen."""

from __future__ import annotations

import threading

import pytest
from events_factory import record_runs, run_started, strategy_events
from test_app import cell_text, open_runs_screen, select_run, until
from textual.widgets import Button

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.recorder import RunRecorder

STOPPED = "20270118-080000-stopped-0004"
DONE = "20270115-080000-alpha-0001"


def record_stopped_run(runs_dir):
    """A run cancelled after 2 of scratch's 3 epochs (its log as the engine would have left it)."""
    recorder = RunRecorder(runs_dir, STOPPED)
    scratch = [e for e in strategy_events("scratch") if not isinstance(e, (ev.Evaluated, ev.StrategyFinished))]
    second_epoch_end = [i for i, e in enumerate(scratch) if isinstance(e, ev.EpochEnd)][1]
    for e in [run_started(STOPPED, strategies=("scratch",)), *scratch[:second_epoch_end + 1],
              ev.RunFinished(status="cancelled", seconds=5.0)]:
        recorder(e)
    recorder.close()


class ScriptedResumer:
    def __init__(self):
        self.plans = []

    def __call__(self, plan, sink, stop_event):
        self.plans.append(plan)
        sink(ev.RunResumed(run_id=plan.run_id, environment={"device": "CPU"}, from_epochs=plan.from_epochs()))
        for e in strategy_events("scratch", accs=(0.35, 0.45, 0.6)):  # no checkpoint: all epochs again
            sink(e)
        sink(ev.RunFinished(status="finished", seconds=9.0))


async def test_resume_continues_a_stopped_run_and_refuses_a_finished_one(tmp_path):
    record_runs(tmp_path, [DONE])
    record_stopped_run(tmp_path)
    resumer = ScriptedResumer()
    app = CifarTuiApp(tmp_path, resumer=resumer)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 2)
        select_run(table, DONE)
        await pilot.press("u")
        await pilot.pause(0.2)
        assert resumer.plans == [] and app.live_run_id != DONE  # finished: nothing to resume, said so
        select_run(table, STOPPED)
        await pilot.press("u")
        await until(pilot, lambda: app.live_state.status == "finished")
        (plan,) = resumer.plans
        assert plan.run_id == STOPPED and plan.from_epochs() == {"scratch": 0}  # no checkpoint: from the start
        assert app.live_run_id == STOPPED and app.current_mode == "live"
        scratch = app.live_state.strategies["scratch"]
        # the stopped attempt's epochs were replaced by the rerun's, each epoch once
        assert [(h["epoch"], h["val_accuracy"]) for h in scratch.history] == [(1, 0.35), (2, 0.45), (3, 0.6)]
        assert scratch.test_accuracy == 0.5 and app.live_state.resumes == 1


async def test_resuming_a_run_of_another_backend_is_refused_before_the_live_screen(tmp_path):
    """This process's Keras runs on TensorFlow (the suite's): a JAX run cannot continue here. It said so
    only after switching to the Live screen, which then showed the cancelled run as 'failed'."""
    import keras  # noqa: F401  (loaded, as in an app that has trained)

    jax_run = "20270119-080000-onjax-0005"
    recorder = RunRecorder(tmp_path, jax_run)
    started = run_started(jax_run, strategies=("scratch",))
    started.config["backend"] = "jax"
    for e in [started, *strategy_events("scratch")[:3], ev.RunFinished(status="cancelled", seconds=5.0)]:
        recorder(e)
    recorder.close()
    resumer = ScriptedResumer()
    app = CifarTuiApp(tmp_path, resumer=resumer)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 1)
        select_run(table, jax_run)
        await pilot.press("u")
        await pilot.pause(0.5)
        assert resumer.plans == [] and app.live_run_id != jax_run and app.current_mode != "live"
        assert any("cannot switch to jax" in n.message for n in app._notifications)


class BlockingResumer:
    """Announces the resume, then trains (blocks) until cancelled, like the real engine mid-epoch."""

    def __init__(self):
        self.announced = threading.Event()
        self.go = threading.Event()

    def __call__(self, plan, sink, stop_event):
        self.go.wait(timeout=30)  # TensorFlow loading: the run is already stoppable
        sink(ev.RunResumed(run_id=plan.run_id, environment={"device": "CPU"}, from_epochs=plan.from_epochs()))
        self.announced.set()
        stop_event.wait(timeout=30)
        sink(ev.RunFinished(status="cancelled", seconds=6.0))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_resumed_run_shows_its_cancel_button_until_it_stops(tmp_path, size):
    """The Cancel button was missing for the whole resumed run: the Live screen was drawn from the stopped
    run's state ("cancelled") and RunResumed did not show it again."""
    record_stopped_run(tmp_path)
    resumer = BlockingResumer()
    app = CifarTuiApp(tmp_path, resumer=resumer)
    async with app.run_test(size=size) as pilot:
        table = await open_runs_screen(pilot, 1)
        table.move_cursor(row=0)  # the only run (its id is shortened at 80 columns)
        await pilot.press("u")
        await until(pilot, lambda: app.current_mode == "live" and app.is_training)
        await pilot.pause(0.1)
        button = app.screen.query_one("#cancel-run", Button)
        assert button.display  # before the engine has announced the resume: it can be stopped already
        resumer.go.set()
        await until(pilot, lambda: app.live_state.resumes == 1)
        await pilot.pause(0.1)
        assert button.display and button.region.height == 1  # shown, and on screen
        await pilot.click("#cancel-run")
        await until(pilot, lambda: app.live_state.status == "cancelled")
        await pilot.pause(0.1)
        assert not button.display


async def test_resuming_a_run_whose_every_strategy_finished_closes_it_as_finished(tmp_path):
    """Recorded interrupted by a stop that came after its last strategy: `u` answered 'nothing to resume'
    and left it interrupted for good; now it is recorded finished and the list says so."""
    from test_stop_after_last_strategy import ENDED, record_ended_but_interrupted

    record_ended_but_interrupted(tmp_path)
    resumer = ScriptedResumer()
    app = CifarTuiApp(tmp_path, resumer=resumer)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 1)
        select_run(table, ENDED)
        assert cell_text(table, 0, 1) == "interrupted"
        await pilot.press("u")
        await until(pilot, lambda: cell_text(table, 0, 1) == "finished")
        assert resumer.plans == [] and app.current_mode == "runs"
        assert any("recorded it finished" in n.message for n in app._notifications)
