"""The verdict of a run (engine/verdict/run.py) above the comparison's analysis: computed off the UI thread
when the run has ended (it reads the per-image predictions and imports scipy), drawn with the CLI's layout."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual import work
from textual.widgets import Static

from cifar_tui.engine.run.state import RunState
from cifar_tui.render.tables import VERDICT_STYLES, verdict_parts, verdict_table

WAITING = "Verdict: when the run has ended (it ranks the strategies and says which differences the test set " \
          "can tell apart)"


def verdict_renderable(verdict):
    return Group(Text(verdict_parts(verdict)[0][2], style=VERDICT_STYLES["head"]), verdict_table(verdict))


class VerdictView(Static):
    verdict = None  # the last verdict shown (cifar_tui.engine.verdict.model.Verdict), None while the run goes on

    asked = 0  # how many times `show` was called: a verdict computed for an earlier call is not shown

    def show(self, state: RunState, runs_dir: Path | None) -> None:
        self.asked += 1
        if state.status in ("pending", "running", "starting", "stopping") or not state.run_id:
            self.verdict = None
            self.update(Text(WAITING, style="dim"))
            return
        run_dir = Path(runs_dir) / state.run_id if runs_dir is not None else None
        self.compute(state.summary(), run_dir if run_dir is not None and run_dir.is_dir() else None, self.asked)

    @work(thread=True, exclusive=True, group="verdict", exit_on_error=False)
    def compute(self, summary: dict, run_dir: Path | None, asked: int) -> None:
        from cifar_tui.engine.verdict.run import run_verdict

        verdict = run_verdict(summary, run_dir)
        self.app.call_from_thread(self._shown, verdict, asked)

    def _shown(self, verdict, asked: int) -> None:
        # a refused start: the verdict of its "failed" end arrived after the app had cleared the run (a
        # reviewer read "Verdict (run ...)" for a run that was never recorded)
        if asked != self.asked:
            return
        self.verdict = verdict
        self.update(verdict_renderable(verdict))
        # the placeholder was two lines and the verdict is many: lay out the scrolling column again, or the
        # analysis below stays drawn where the placeholder ended (seen at 80x24)
        if self.parent is not None:
            self.parent.refresh(layout=True)
