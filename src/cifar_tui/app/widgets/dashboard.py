"""The panels of a run, live or from history: progress, curves, comparison, confusion heatmaps, log.

The dashboard draws a `RunState`; the comparison panel starts with the run's verdict once it has ended.
Live, it is told about each event and redraws only what the event touched: batch events move progress
bars; curves redraw at most twice a second however fast epochs end.
On a wide terminal the four panels share a 2x2 grid (curves | confusion over comparison | log); below
100x30 the screen gets the `-compact` class and shows one panel at a time (keys 1-4).
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Container, Vertical, VerticalScroll

import cifar_tui.engine.run.events as ev
from cifar_tui.app.widgets.analysis import AnalysisView
from cifar_tui.app.widgets.comparison import ComparisonTable
from cifar_tui.app.widgets.confusion import ConfusionView
from cifar_tui.app.widgets.curves import CurvesPlot
from cifar_tui.app.widgets.info_bar import InfoBar
from cifar_tui.app.widgets.log_panel import LogPanel
from cifar_tui.app.widgets.progress_panel import ProgressPanel
from cifar_tui.app.widgets.verdict import VerdictView
from cifar_tui.engine.run.state import RunState

PANELS = ("curves", "results", "confusion", "log")
CURVES_MIN_INTERVAL_S = 0.5  # plots redraw at most ~2 Hz
PROGRESS_INTERVAL_S = 0.5  # progress bars move at most twice a second, however fast batches come


class Dashboard(Vertical):
    def __init__(self, state: RunState | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state or RunState()
        self._curves_due = False
        self._curves_drawn_at = 0.0
        self._progress_due = False
        self._log_lines = 0
        self.shown_panel = "curves"

    def compose(self) -> ComposeResult:
        yield InfoBar(id="info")
        yield ProgressPanel(id="progress")
        with Container(id="panels"):
            with Vertical(id="panel-curves", classes="panel -shown") as v:
                v.border_title = "1 curves"
                yield CurvesPlot(id="curves")
            with Vertical(id="panel-confusion", classes="panel") as v:
                v.border_title = "3 confusion"
                yield ConfusionView(id="confusion")
            with Vertical(id="panel-results", classes="panel") as v:
                v.border_title = "2 comparison"
                yield ComparisonTable(id="results")
                with VerticalScroll(id="analysis-scroll"):
                    yield VerdictView(id="verdict")
                    yield AnalysisView(id="analysis")
            with Vertical(id="panel-log", classes="panel") as v:
                v.border_title = "4 log"
                yield LogPanel(id="log", max_lines=2000)

    def on_mount(self) -> None:
        self.set_interval(CURVES_MIN_INTERVAL_S, self._draw_curves_if_due)
        self.set_interval(PROGRESS_INTERVAL_S, self._show_progress_if_due)
        self.show(self.state)

    # --- whole redraw (a new run, a run from history) -----------------------------------------------
    def show(self, state: RunState) -> None:
        self.state = state
        self._log_lines = 0
        self.query_one("#log", LogPanel).reset()
        self._refresh_all()

    def _refresh_all(self) -> None:
        self.query_one(InfoBar).show(self.state)
        self.query_one(ProgressPanel).show(self.state)
        self.query_one(ComparisonTable).show(self.state)
        self._show_verdict()
        self.query_one(AnalysisView).show(self.state, getattr(self.app, "runs_dir", None))
        self.query_one(ConfusionView).show(self.state)
        self._append_log()
        self._curves_due = True
        self._draw_curves_if_due(force=True)

    # --- live: one event ------------------------------------------------------------------------------
    def apply(self, event: ev.Event) -> None:
        """Called after `event` was folded into `self.state`."""
        if isinstance(event, ev.BatchEnd):
            self._progress_due = True  # drawn by the timer: a batch event costs the UI next to nothing
            return
        if isinstance(event, (ev.RunStarted, ev.RunFinished)):
            self._refresh_all()
            return
        self.query_one(ProgressPanel).show(self.state)
        self.query_one(InfoBar).show(self.state)
        if isinstance(event, (ev.EpochEnd, ev.PhaseStarted)):
            self._curves_due = True
            self._draw_curves_if_due()
        if isinstance(event, (ev.StrategyStarted, ev.Evaluated, ev.StrategyFinished, ev.StrategyFailed,
                              ev.EpochEnd)):
            self.query_one(ComparisonTable).show(self.state)
        if isinstance(event, ev.Evaluated):
            self.query_one(ConfusionView).show(self.state, newest=event.strategy)
        if isinstance(event, (ev.StrategyStarted, ev.Evaluated, ev.BackboneChange)):  # recipes, notes, analysis
            self.query_one(AnalysisView).show(self.state, getattr(self.app, "runs_dir", None))
        self._append_log()

    def _show_verdict(self) -> None:
        self.query_one(VerdictView).show(self.state, getattr(self.app, "runs_dir", None))
        # an ended run's answer gets room: the comparison row grows to half the panels (styles/app.tcss)
        self.set_class(self.state.status not in ("pending", "running", "starting", "stopping"), "-ended")

    def _show_progress_if_due(self) -> None:
        if self._progress_due:
            self._progress_due = False
            self.query_one(ProgressPanel).show(self.state)

    def _append_log(self) -> None:
        log = self.query_one("#log", LogPanel)
        for level, message in self.state.log[self._log_lines:]:
            log.add(level, message)
        self._log_lines = len(self.state.log)

    def _draw_curves_if_due(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._curves_due and (force or now - self._curves_drawn_at >= CURVES_MIN_INTERVAL_S):
            self._curves_due = False
            self._curves_drawn_at = now
            self.query_one(CurvesPlot).draw(self.state)

    # --- panel selection (compact layout) --------------------------------------------------------------
    def show_panel(self, name: str) -> None:
        self.shown_panel = name
        for panel in PANELS:
            self.query_one(f"#panel-{panel}").set_class(panel == name, "-shown")
        target = {"curves": "#curves", "results": "#results", "confusion": "#cm-table", "log": "#log"}[name]
        self.query_one(target).focus()
        if name == "log" and self.state.notices:  # "why and how to fix: log, key 4": at the explanation
            headline = self.state.notices[0].split(": ", 1)[0]
            self.query_one(LogPanel).show_line(f"WARNING: {headline}")
