"""The Textual app: Live and Runs modes, the New run form, and the training worker.

The engine runs in a thread worker and reaches the UI only through `post_message`; the worker's
`cancelled_event` is the engine's `stop_event`, so cancelling or quitting stops training at the next batch.
"""

from __future__ import annotations

import asyncio
import copy
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.filter import Monochrome, NoColor
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

import cifar_tui.engine.run.events as ev
from cifar_tui.app.following import FollowRuns
from cifar_tui.app.hangup import TerminalGone
from cifar_tui.app.job_control import SuspendAndContinue
from cifar_tui.app.messages import (
    BatchProgress,
    EngineEvent,
    ResumePlanned,
    RunError,
    posting_sink,
)
from cifar_tui.app.screens.dialogs import ConfirmQuit, StartFailed
from cifar_tui.app.screens.live import LiveScreen
from cifar_tui.app.screens.new_run import NewRunScreen, form_base
from cifar_tui.app.screens.run_loading import error_text
from cifar_tui.app.screens.runs import RunsScreen
from cifar_tui.app.screens.studies import StudiesScreen
from cifar_tui.app.widgets.plot_room import too_small_for_app
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import ConfigError, DataError, StoreError, UserError, WeightsError
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store.ids import new_run_id

ERROR_KINDS = {DataError: "data", WeightsError: "weights", ConfigError: "config", StoreError: "store"}
QUIT_GRACE_S = 120.0  # give a stopping run this long to finish its batch before quitting anyway
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # from outside: `kill`, a closed SSH session


def record_in_store(config: ExperimentConfig, runs_dir: Path, sink, stop_event, run_id: str) -> None:
    """The real engine: record the run in the store and forward its events to the app."""
    from cifar_tui.engine.run.session import record_and_run

    record_and_run(config, runs_dir, display=sink, stop_event=stop_event, run_id=run_id, redirect_native_log=False)


def resume_in_store(plan, sink, stop_event) -> None:
    """The real engine, continuing a stopped run in its own folder (same id, same log)."""
    from cifar_tui.engine.run.session import resume_and_run

    resume_and_run(plan.path.parent, plan.run_id, display=sink, stop_event=stop_event, redirect_native_log=False,
                   plan=plan)


class CifarTuiApp(SuspendAndContinue, FollowRuns, App):
    CSS_PATH = "styles/app.tcss"
    TITLE = "cifar-tui"
    SUB_TITLE = "transfer learning vs training from scratch, CIFAR-10"
    MODES = {"live": LiveScreen, "runs": RunsScreen, "studies": StudiesScreen}
    DEFAULT_MODE = "live"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+z", "suspend_process", "Suspend", show=False),  # `fg` brings it back, `bg` runs it on
    ]

    def __init__(self, runs_dir: Path, start: ExperimentConfig | None = None,
                 engine: Callable[..., None] = record_in_store, native_log: Path | None = None,
                 watch: str | None = None, resumer: Callable[..., None] = resume_in_store) -> None:
        super().__init__()
        if self.no_color:
            # NO_COLOR: Textual's Monochrome filter turns colours into greys (a curve came out grey 237 on
            # background 234); NoColor drops colours and keeps bold and reverse, so warnings stay visible.
            self._filters = [NoColor() if isinstance(f, Monochrome) else f for f in self._filters]
        self.resumer = resumer  # tests pass a scripted one
        self.watch_on_start = watch
        self.runs_dir = Path(runs_dir)
        self.start_config = start
        self.engine = engine  # tests pass a scripted event source here
        self.native_log = native_log
        self.live_state = RunState()
        self.size_warned = False  # "terminal too small" said for the current (small) size
        self.live_run_id = ""
        self.last_config: ExperimentConfig | None = start
        self.training: Worker | None = None
        # Set while the engine's thread is inside run_experiment. The worker's own state says CANCELLED as
        # soon as it is cancelled, but the thread then still finishes its batch: until it has, no new run.
        self._engine_busy = threading.Event()
        self.live_screen_ref: LiveScreen | None = None  # set by the Live screen when it mounts
        self._quit_when_stopped = False
        self._exit_code = 0  # 128 + the signal once SIGTERM / SIGHUP asked the app to stop
        self.pending_signals: list[int] = []  # signals that came before the event loop could take them
        self._handles_signals = False

    # --- signals from outside ------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGHUP stop training at the next batch, record the run interrupted with the signal
        named, and exit 128 + signal through Textual's normal shutdown, which restores the terminal (leaves the
        alternate screen, turns mouse reporting off, shows the cursor). Until the event loop runs, a signal is
        only noted (`launch_app` installs this before `run`); `on_mount` hands it over."""
        def early(signum, _frame):
            self.pending_signals.append(signum)

        for signum in STOP_SIGNALS:
            signal.signal(signum, early)
        self._handles_signals = True

    def _take_signals_in_loop(self) -> None:
        if not self._handles_signals:
            return  # tests drive the app in-process: the host's handlers stay as they are
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self.stop_by_signal, signum)
        for signum in self.pending_signals:
            self.stop_by_signal(signum)
        self.pending_signals.clear()

    def stop_by_signal(self, signum: int) -> None:
        """Stop as SIGTERM / SIGHUP ask: at once when idle, after the current batch when training; a second
        signal exits at once (the run then shows `interrupted` once its writer is gone), but not a second
        SIGHUP: a hang-up the app saw itself and the kernel's SIGHUP are one event (app/hangup.py)."""
        name = signal.Signals(signum).name
        if self._exit_code:
            if signum != signal.SIGHUP or self._exit_code != 128 + signal.SIGHUP:  # one hang-up, told twice
                self.exit(return_code=self._exit_code)
            return
        self._exit_code = 128 + signum
        if not self.is_training or self.training is None:
            self.exit(return_code=self._exit_code)
            return
        self._quit_when_stopped = True
        self.training.cancelled_event.reason = f"stopped by {name}"  # read by the engine: "interrupted"
        self.action_cancel_run()
        self.set_timer(QUIT_GRACE_S, lambda: self.exit(return_code=self._exit_code))

    def on_terminal_gone(self, _message: TerminalGone) -> None:
        """The terminal hung up (app/hangup.py): stop as its SIGHUP asks, whether or not that came."""
        if not self._exit_code:
            self.stop_by_signal(signal.SIGHUP)

    # --- lifecycle ------------------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        """Say once, while it lasts, that the terminal is too small (a 40x12 one drew garbled charts silently)."""
        warning = too_small_for_app(event.size.width, event.size.height)
        if warning and not self.size_warned:
            self.notify(warning, severity="warning", timeout=8)
        self.size_warned = warning is not None

    def on_mount(self) -> None:
        self._take_signals_in_loop()
        self.redraw_on_continue()
        if self.native_log is not None:
            self.live_state.log.append(("info", f"TensorFlow's own log lines go to {self.native_log}"))
        if self.start_config is not None:
            self.start_run(self.start_config)
        elif self.watch_on_start:
            self.switch_mode("runs")
            self.watch_run(self.watch_on_start)

    @property
    def is_training(self) -> bool:
        pending = self.training is not None and self.training.state in (WorkerState.PENDING, WorkerState.RUNNING)
        return pending or self._engine_busy.is_set()

    def live_screen(self) -> LiveScreen | None:
        return self.live_screen_ref

    def get_system_commands(self, screen: Screen):
        """The command palette (ctrl+p) lists the app's own actions next to Textual's."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("New run", "Open the New run form (n)", self.action_new_run)
        yield SystemCommand("Cancel run", "Stop the run in progress at the next batch (c)", self.action_cancel_run)
        yield SystemCommand("Resume run", "Continue the stopped run under the cursor in Runs (u)",
                            lambda: self.switch_mode("runs"))
        yield SystemCommand("Live", "The run in progress (l)", lambda: self.switch_mode("live"))
        yield SystemCommand("Studies", "Grids of runs: progress, mean ± std over seeds, chart (y)",
                            lambda: self.switch_mode("studies"))
        yield SystemCommand("Runs", "Browse, compare and delete recorded runs (r)", lambda: self.switch_mode("runs"))

    # --- starting and stopping runs ---------------------------------------------------------------
    def start_run(self, config: ExperimentConfig) -> None:
        if self.is_training:
            self.notify("a run is already in progress: cancel it first (c)", severity="warning")
            return
        self.last_config = config
        self.begin_live(new_run_id(config.name), config)
        self.training = self._train(config, self.live_run_id)

    def begin_live(self, run_id: str, config: ExperimentConfig) -> None:
        """Point the Live screen at a new run whose events will arrive as messages."""
        self.live_run_id = run_id
        self.live_state = RunState(run_id=run_id, status="starting", config=config.to_dict(),
                                   dataset={"name": config.dataset})
        for name in config.strategies:
            self.live_state.strategy(name)
        self.switch_mode("live")
        self._refresh_live(None)

    def resume_run(self, run_id: str) -> None:
        """Continue a cancelled or interrupted run (the Runs screen's `u`), shown on the Live screen.
        The plan (the run's whole log, its checkpoints) is read in a worker, not on the UI thread."""
        if self.is_training:
            self.notify("a run is already in progress: cancel it first (c)", severity="warning")
            return
        self._plan_resume(run_id)

    @work(thread=True, exclusive=True, group="plan-resume", exit_on_error=False)
    def _plan_resume(self, run_id: str) -> None:
        from cifar_tui.engine.run.resume import NothingToResume, close_ended_run, plan_resume
        from cifar_tui.engine.runtime.backend import switch_refusal

        try:
            try:
                plan = plan_resume(self.runs_dir, run_id)
            except NothingToResume as exc:  # stopped after its last strategy: closed as finished (the CLI's way)
                self.call_from_thread(self._closed_as_finished, close_ended_run(exc.plan))
                return
            # Refused here, not after switching to the Live screen (which then showed the run as failed).
            refusal = switch_refusal(plan.config.backend)
            self.post_message(ResumePlanned(None, f"cannot resume {run_id}: {refusal}") if refusal
                              else ResumePlanned(plan, ""))
        except Exception as exc:  # UserError, or whatever a damaged folder raises: a notification
            self.post_message(ResumePlanned(None, error_text(exc, f"cannot resume {run_id}")))

    def _closed_as_finished(self, line: str) -> None:
        self.notify(line)
        if isinstance(self.screen, RunsScreen):  # its row still says interrupted
            self.screen.action_reload()

    def on_resume_planned(self, message: ResumePlanned) -> None:
        plan = message.plan
        if plan is None:
            self.notify(message.error, severity="error")
            return
        if self.is_training:
            self.notify("a run is already in progress: cancel it first (c)", severity="warning")
            return
        self.last_config = plan.config
        self.live_run_id = plan.run_id
        # A copy of the plan's fold of the log: the original goes to the recorder, in the worker's thread.
        self.live_state = copy.deepcopy(plan.state)
        # Stoppable from now on, like a new run (its Cancel button shows), not the stopped run it was
        self.live_state.status = "starting"
        self.switch_mode("live")
        self._refresh_live(None)
        self.training = self._train(None, plan.run_id, plan)

    @work(thread=True, exclusive=True, group="training", exit_on_error=False)
    def _train(self, config: ExperimentConfig | None, run_id: str, plan=None) -> None:
        worker = get_current_worker()
        sink = posting_sink(self, run_id, worker.cancelled_event)
        self._engine_busy.set()
        try:
            if plan is not None:
                self.resumer(plan, sink, worker.cancelled_event)
            else:
                self.engine(config, self.runs_dir, sink, worker.cancelled_event, run_id)
        except UserError as exc:
            self.post_message(RunError(str(exc), run_id, ERROR_KINDS.get(type(exc), "")))
        except Exception as exc:  # a bug: keep the app alive and say what happened
            self.post_message(RunError(f"unexpected {type(exc).__name__}: {exc}", run_id))
        finally:
            self._engine_busy.clear()

    def action_cancel_run(self) -> None:
        if not self.is_training or self.training is None:
            self.notify("no run in progress")
            return
        if self.live_state.status == "stopping":
            return
        self.training.cancel()  # sets cancelled_event: the engine stops at the next batch
        self.live_state.status = "stopping"
        self._refresh_live(None)
        self.notify("stopping at the next batch...")

    async def action_quit(self) -> None:
        if not self.is_training:
            self.exit()
            return

        def answered(stop: bool | None) -> None:
            if stop:
                self._quit_when_stopped = True
                self.action_cancel_run()
                self.set_timer(QUIT_GRACE_S, lambda: self.exit(return_code=self._exit_code))

        self.push_screen(ConfirmQuit(), answered)

    def action_new_run(self) -> None:
        def chosen(config: ExperimentConfig | None) -> None:
            if config is not None:
                self.start_run(config)

        self.push_screen(NewRunScreen(form_base(self.last_config, self.live_state)), chosen)

    # --- events from the worker -------------------------------------------------------------------------
    def on_engine_event(self, message: EngineEvent) -> None:
        if message.run_id != self.live_run_id:
            return  # a late event of an earlier run
        stopping = self.live_state.status == "stopping"
        self.live_state.apply(message.event)
        if stopping and self.live_state.status == "running":  # RunStarted/RunResumed after `c`: still stopping
            self.live_state.status = "stopping"
        self._refresh_live(message.event)
        if isinstance(message.event, ev.StrategyFailed):  # its row shows the start of the line; here all of it
            self.notify(f"{message.event.strategy} failed: {message.event.error}", severity="error", timeout=30)
        if isinstance(message.event, ev.RunFinished):
            severity = {"finished": "information", "cancelled": "warning"}.get(message.event.status, "error")
            self.notify(f"run {message.event.status}", severity=severity)
            if self._quit_when_stopped:
                self.exit(return_code=self._exit_code)

    def on_batch_progress(self, message: BatchProgress) -> None:
        self.on_engine_event(message)

    def on_run_error(self, message: RunError) -> None:
        if message.run_id != self.live_run_id:
            return
        self.live_state.status = "failed"
        self.live_state.error = message.message
        self.live_state.log.append(("error", message.message))
        if self.live_state.started is None:  # refused before it started: no folder bears this id
            self.live_state.run_id = ""
            self.live_state.log.append(("info", "nothing was recorded (the run never started)"))
        self._refresh_live(None)
        if self._quit_when_stopped:
            self.exit(return_code=self._exit_code)
            return
        if not self.is_running:  # shutting down: no screen to push
            return
        self.push_screen(StartFailed(message.message, message.kind), self._way_out)

    def _way_out(self, choice: str | None) -> None:
        base = self.last_config
        if base is None or choice in (None, "close"):
            return
        if choice == "digits":
            self.start_run(base.replace(dataset="digits", data_dir=None))
        elif choice == "weights-none":
            self.start_run(base.replace(weights="none"))
        elif choice == "form":
            self.action_new_run()

    def _refresh_live(self, event: ev.Event | None) -> None:
        screen = self.live_screen()
        # Not while shutting down: Textual prunes the screens' widgets, then still dispatches what the worker
        # posted meanwhile (tests/test_app_events_at_exit.py)
        if screen is None or not screen.is_mounted or not self.is_running:
            return
        if event is None:
            screen.dashboard.show(self.live_state)
            screen.show_cancel(self.live_state.status in ("running", "starting"))
        else:
            screen.on_engine(event, self.live_state)
