"""Resuming a stopped run from the Runs screen (`u`): its plan is read in a worker, then it trains on the
Live screen in its own folder, under the same id and log."""

from __future__ import annotations

import copy

from textual import work

from cifar_tui.app.messages import ResumePlanned
from cifar_tui.app.screens.run_loading import error_text
from cifar_tui.app.screens.runs import RunsScreen


def resume_in_store(plan, sink, stop_event) -> None:
    """The real engine, continuing a stopped run in its own folder (same id, same log)."""
    from cifar_tui.engine.run.session import resume_and_run

    resume_and_run(plan.path.parent, plan.run_id, display=sink, stop_event=stop_event, redirect_native_log=False,
                   plan=plan)


class ResumeRuns:
    """Mixed into the app (which provides `is_training`, `runs_dir`, `_train`, `_refresh_live`, `notify`,
    `post_message`, `call_from_thread` and `switch_mode`, and holds `live_state`, `live_run_id`,
    `last_config` and `training`)."""

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
