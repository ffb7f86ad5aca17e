"""SIGTERM and SIGHUP (`kill`, a closed SSH session, a terminal gone) stop the app as a user's quit would:
the run in progress stops at the next batch and is recorded `interrupted`, then the app exits 128 + signal."""

from __future__ import annotations

import asyncio
import signal

from cifar_tui.app.hangup import TerminalGone

QUIT_GRACE_S = 120.0  # give a stopping run this long to finish its batch before quitting anyway
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # from outside: `kill`, a closed SSH session


class StopOnSignals:
    """Mixed into the app (which provides `is_training`, `training`, `action_cancel_run`, `exit`, `set_timer`
    and the `_exit_code`, `_quit_when_stopped`, `pending_signals` and `_handles_signals` it sets up)."""

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
