"""Following a run another process writes (`cifar-tui watch`, a running run opened from the Runs screen).

Every read of its events file happens in a worker; the UI thread only folds the events it is handed, so a
long or damaged file never blocks or ends the app.
"""

from __future__ import annotations

from textual import work

from cifar_tui.app.messages import FollowFailed, Following, FollowOpened, FollowPolled
from cifar_tui.app.screens.run_loading import error_text
from cifar_tui.engine.run.state import RunState

POLL_S = 0.5


class FollowRuns:
    """Mixed into the app (which provides `runs_dir`, `push_screen`, `notify`, `post_message`)."""

    def watch_run(self, run_id: str) -> None:
        """Show a recorded run and follow its events file as it grows (`cifar-tui watch`, Runs screen).
        Every read of the file happens in a worker; the UI thread only folds the events it is handed."""
        self._open_follow(run_id)

    @work(thread=True, group="follow", exit_on_error=False)
    def _open_follow(self, run_id: str) -> None:
        from cifar_tui.engine.store.follow import EventFollower
        from cifar_tui.engine.store.paths import EVENTS_FILE

        try:
            follower = EventFollower(self.runs_dir / run_id / EVENTS_FILE)
            state = RunState.from_events(follower.poll())
        except Exception as exc:  # a damaged folder: a notification, the app stays up
            self.post_message(FollowFailed(error_text(exc, f"cannot follow {run_id}")))
            return
        self.post_message(FollowOpened(run_id, follower, state))

    def on_follow_failed(self, message: FollowFailed) -> None:
        self.notify(message.error, severity="error")

    def on_follow_opened(self, message: FollowOpened) -> None:
        from cifar_tui.app.screens.live import RunViewScreen

        screen = RunViewScreen(message.state, title=f"{message.run_id} (following its events file)")
        self.push_screen(screen)
        screen.follow = Following(message.run_id, message.follower, message.state, screen)
        screen.set_interval(POLL_S, lambda: self._poll_follow(screen.follow))

    @work(thread=True, group="follow", exit_on_error=False)
    def _poll_follow(self, follow: Following) -> None:
        from cifar_tui.engine.store.liveness import writer_state

        if not follow.busy.acquire(blocking=False):
            return  # the previous poll is still reading
        try:
            events = follow.follower.poll()
            writer = writer_state(self.runs_dir / follow.run_id)
        except Exception as exc:
            follow.busy.release()
            self.post_message(FollowFailed(error_text(exc, f"cannot follow {follow.run_id}")))
            return
        self.post_message(FollowPolled(follow, events, writer))

    def on_follow_polled(self, message: FollowPolled) -> None:
        follow = message.follow
        try:
            # closed while the poll was reading, or the app shutting down: fold, draw nothing
            shown = follow.screen in self.screen_stack and self.is_running
            for event in message.events:
                follow.state.apply(event)
                if shown:
                    follow.screen.on_engine(event, follow.state)
            writer = message.writer
            quiet = writer.quiet_s if writer.quiet and follow.state.status == "running" else None
            changed = quiet != follow.state.quiet_s
            follow.state.quiet_s = quiet  # its writer holds the run's lock but is silent: stopped or busy
            if follow.state.status in ("running", "pending") and not writer.alive:
                follow.state.writer_gone()  # died without finishing (its lock is free): no row trains on with an ETA
                changed = True
            if shown and changed:
                follow.screen.dashboard.show(follow.state)
        finally:
            follow.busy.release()
