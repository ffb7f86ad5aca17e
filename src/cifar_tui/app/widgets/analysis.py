"""Below the comparison table: the recipes, per-class accuracy and the fine-tuning analysis of a run
(render/analysis.py draws them), the per-class gains tested once the run has ended."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual import work
from textual.widgets import Static

from cifar_tui.engine.analysis.per_class import PerClass, per_class, per_class_of_run
from cifar_tui.engine.run.state import RunState
from cifar_tui.render.analysis import backbone_change_text, per_class_table, recipe_text


class AnalysisView(Static):
    """Recipes, per-class accuracy and the fine-tuning analysis. Once the run has ended, the per-class gains
    are tested on the recorded per-image predictions, off the UI thread (it reads files, imports scipy)."""

    LIVE = ("pending", "running", "starting", "stopping")
    NARROW_BELOW = 60  # columns: the per-class table then names strategies short (scr, frz, ft)
    state: RunState | None = None  # the run last shown: a test computed for another is not drawn
    drawn: tuple | None = None  # what `_draw` was last given, drawn again at a new width

    def show(self, state: RunState, runs_dir: Path | None = None) -> None:
        self.state = state
        run_dir = Path(runs_dir) / state.run_id if runs_dir is not None and state.run_id else None
        testing = state.status not in self.LIVE and run_dir is not None and run_dir.is_dir() and per_class(state)
        # until the exact tests are in, the caption says they are coming (not "no per-image predictions")
        self._draw(state, None, exact_later=state.status in self.LIVE or bool(testing))
        if testing:
            self.test_classes(state, run_dir)

    def on_resize(self) -> None:
        if self.drawn is not None:
            self._draw(*self.drawn)

    def _draw(self, state: RunState, pc: PerClass | None, exact_later: bool = False) -> None:
        self.drawn = (state, pc, exact_later)
        narrow = 0 < self.size.width < self.NARROW_BELOW
        parts = [p for p in (recipe_text(state),
                             per_class_table(state, pc, exact_when_ended=exact_later, narrow=narrow),
                             backbone_change_text(state))
                 if p is not None]
        self.update(Group(*parts) if parts else Text("recipes, per-class accuracy and the fine-tuning analysis "
                                                     "appear here as strategies start and finish", style="dim"))

    @work(thread=True, exclusive=True, group="per-class", exit_on_error=False)
    def test_classes(self, state: RunState, run_dir: Path) -> None:
        pc = per_class_of_run(state, run_dir)
        self.app.call_from_thread(self._tested, state, pc)

    def _tested(self, state: RunState, pc: PerClass | None) -> None:
        if state is self.state:  # not a run shown since
            self._draw(state, pc)
