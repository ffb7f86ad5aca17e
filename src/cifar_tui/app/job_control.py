"""Suspend and continue as terminal programs do: ctrl+z (or SIGTSTP) stops the app, `fg` brings it back
redrawn, `bg` lets it run on, training and recording, without drawing, until `fg` (issue #26 section 5).

Textual 8.2.8's Linux driver (the newest release, checked 2026-12-05) leaves application mode on SIGTSTP and
enters it again on any SIGCONT. Two faults follow (textual#3727): nothing repaints the screen it cleared,
so after `fg` it stays blank until a key is pressed; and after `bg` its no-op `tcsetattr` raises SIGTTOU,
which it answers by stopping the process again, so a run put in the background stops training. This
driver enters application mode again only when the process is the terminal's foreground job (after `fg`,
in whatever order `fg` and `bg` came: a job running in the background gets no SIGCONT from `fg`, so it
looks five times a second), draws nothing while suspended, and asks the app to repaint the whole screen
once it is back. A stop with no shell to continue it (no job control: the app started as its
session's leader, say as tmux's or ssh's command) is refused, as the kernel discards SIGTSTP for a process
group nobody could continue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from textual.drivers.linux_driver import LinuxDriver

from cifar_tui.app.hangup import EndOfInput, TerminalGone, TerminalOutput, hung_up, terminal_lost

FOREGROUND_POLL_S = 0.2  # how soon a job running in the background notices `fg`


def job_control() -> bool:
    """Can a shell continue this process once it is stopped? (A job of a job-control shell has its own
    process group; a session's leader, such as a command tmux or ssh started, has none above it.)"""
    return os.getpgrp() != os.getsid(0)


def in_foreground(fd: int) -> bool:
    """Is this process the foreground job of the terminal on `fd`?"""
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False


class JobControlDriver(LinuxDriver):
    """Textual's Linux driver with suspend and continue done as terminal programs do (the module's doc)."""

    suspended = False  # application mode left for a stop; nothing is drawn until back in the foreground
    _polling = False  # a look at the terminal's foreground job is due

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._file = TerminalOutput(self._file, self._terminal_gone)  # a dead terminal stops the app (hangup.py)

    def _terminal_gone(self) -> None:
        with contextlib.suppress(RuntimeError):  # the app's loop already closed: nothing left to stop
            self._app.post_message(TerminalGone())

    def run_input_thread(self) -> None:
        """Textual's input loop, ended with the app told when the terminal has gone: a read of end-of-file
        from a hung-up terminal (Textual read it again and again, spinning a core) or EIO (the moment its
        master closes; the input thread died and took the app down, exit 1). Any other end-of-file reads on."""
        while True:
            try:
                super().run_input_thread()
                return
            except EndOfInput:
                if hung_up(self.fileno):
                    self._file.lost()
                    return
            except OSError as exc:
                if not terminal_lost(exc, self.fileno):
                    raise
                self._file.lost()
                return

    def _sigtstp_application(self, *_) -> None:
        if not self._auto_restart:  # inside App.suspend(): its own code restarts application mode
            os.kill(os.getpid(), signal.SIGSTOP)
            return
        if not job_control():
            return  # no shell could continue it: a stop would hang the app for good
        if not self.suspended:
            self.suspend_application_mode()  # restores the terminal (its writes still go out)
            self.suspended = True
        os.kill(os.getpid(), signal.SIGSTOP)

    def _sigcont_application(self, *_) -> None:
        if self.suspended and self._auto_restart:
            self._continue_in_front()

    def _continue_in_front(self) -> None:
        """Enter application mode again once this is the terminal's foreground job. `fg` after `bg` sends no
        SIGCONT (bash continues only a stopped job), so a job running in the background looks again soon."""
        self._polling = False
        if not self.suspended:
            return
        if in_foreground(self.fileno):
            self.suspended = False
            if self._writer_thread is not None:
                self._writer_thread.stop()  # start_application_mode makes a new one
            self.resume_application_mode()
            self._app.post_message(self.SignalResume())  # the app repaints the whole screen
            return
        try:  # a signal handler and this loop's callbacks both run on the main thread, in the app's loop
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # the app is shutting down
        if not self._polling:
            self._polling = True
            loop.call_later(FOREGROUND_POLL_S, self._continue_in_front)

    def write(self, data: str) -> None:
        if not self.suspended:
            super().write(data)


class SuspendAndContinue:
    """Mixed into the app (before textual's App): ctrl+z suspends where a shell can continue it, and the
    whole screen is repainted when it comes back."""

    def get_driver_class(self):
        driver = super().get_driver_class()
        return JobControlDriver if driver is LinuxDriver else driver

    def action_suspend_process(self) -> None:
        if not job_control():
            self.notify("ctrl+z: no shell to continue the app from here (no job control); not suspended",
                        severity="warning")
            return
        super().action_suspend_process()

    def redraw_on_continue(self) -> None:
        """Call once mounted: repaint everything on the way back (the terminal was cleared meanwhile)."""
        self.app_resume_signal.subscribe(self, lambda _app: self.refresh(repaint=True, layout=True))
