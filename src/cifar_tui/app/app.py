"""The Textual app: Live and Runs modes, the New run form, and the training worker.

The engine runs in a thread worker and reaches the UI only through `post_message`; the worker's
`cancelled_event` is the engine's `stop_event`, so cancelling or quitting stops training at the next batch.
"""

from __future__ import annotations

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
from cifar_tui.app.job_control import SuspendAndContinue
from cifar_tui.app.messages import BatchProgress, EngineEvent, RunError, posting_sink
from cifar_tui.app.resuming import ResumeRuns, resume_in_store
from cifar_tui.app.screens.dialogs import ConfirmQuit, StartFailed
from cifar_tui.app.screens.live import LiveScreen
from cifar_tui.app.screens.new_run import NewRunScreen, form_base
from cifar_tui.app.screens.runs import RunsScreen
from cifar_tui.app.screens.studies import StudiesScreen
from cifar_tui.app.stop_signals import QUIT_GRACE_S, StopOnSignals
from cifar_tui.app.widgets.plot_room import too_small_for_app
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import ConfigError, DataError, InputsMissing, StoreError, UserError, WeightsError
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store.ids import new_run_id

ERROR_KINDS = {DataError: "data", WeightsError: "weights", InputsMissing: "inputs", ConfigError: "config",
               StoreError: "store"}


def record_in_store(config: ExperimentConfig, runs_dir: Path, sink, stop_event, run_id: str) -> None:
    """The real engine: record the run in the store and forward its events to the app."""
    from cifar_tui.engine.run.session import record_and_run

    record_and_run(config, runs_dir, display=sink, stop_event=stop_event, run_id=run_id, redirect_native_log=False)


class CifarTuiApp(StopOnSignals, ResumeRuns, SuspendAndContinue, FollowRuns, App):
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel run is in the footer, and `c` acts, only while a run can be cancelled (not once stopping)."""
        if action == "cancel_run":
            return self.is_training and self.live_state.status != "stopping"
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # started or ended: Cancel run comes or goes; not while shutting down (the screens are gone: the
        # worker is cancelled as the app exits)
        if event.worker is self.training and self.is_running and self.screen_stack:
            self.refresh_bindings()

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
        except UserError as exc:  # both inputs missing: each reason its own paragraph
            text = "\n\n".join(exc.reasons) if isinstance(exc, InputsMissing) else str(exc)
            self.post_message(RunError(text, run_id, ERROR_KINDS.get(type(exc), "")))
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
        self.refresh_bindings()
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
        if self.live_state.log and self.live_state.log[-1] == ("error", self.live_state.error):
            self.live_state.log[-1] = ("error", message.message)  # the run's own end said it: once, not twice
        else:
            self.live_state.log.append(("error", message.message))
        self.live_state.error = message.message
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
        elif choice == "offline":
            self.start_run(base.replace(dataset="digits", data_dir=None, weights="none"))
        elif choice == "form":
            self.action_new_run()

    def _refresh_live(self, event: ev.Event | None) -> None:
        screen = self.live_screen()
        # Not while shutting down: Textual prunes the screens' widgets, then still dispatches what the worker
        # posted meanwhile (tests/test_app_events_at_exit.py)
        if screen is None or not screen.is_mounted or not self.is_running:
            return
        screen.on_engine(event, self.live_state)
