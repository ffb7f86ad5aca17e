"""The Live screen: the run in progress (or the last one of this session), as a dashboard.

Also used, with `live=False`, to read a run from history exactly as it looked live.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, Footer, Header

import cifar_tui.engine.run.events as ev
from cifar_tui.app.screens.gallery_open import open_cell_gallery, open_fixed_by_transfer, open_top_losses
from cifar_tui.app.widgets.confusion import ConfusionView
from cifar_tui.app.widgets.curves import CurvesPlot
from cifar_tui.app.widgets.dashboard import PANELS, Dashboard
from cifar_tui.engine.run.state import RunState

COMPACT_WIDTH, COMPACT_HEIGHT = 100, 30


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("1", "panel('curves')", "Panels", key_display="1-4"),
        Binding("2", "panel('results')", "Results", show=False),
        Binding("3", "panel('confusion')", "Confusion", show=False),
        Binding("4", "panel('log')", "Log", show=False),
        # t and p are named in their panels' titles: at 80 columns the footer keeps the keys that go elsewhere
        Binding("t", "toggle_metric", "Acc/Loss", show=False),
        Binding("left_square_bracket", "cycle_confusion(-1)", "Prev CM", show=False),
        Binding("right_square_bracket", "cycle_confusion(1)", "Next CM", show=False),
        Binding("p", "toggle_normalised", "CM %", show=False),
        Binding("e", "top_losses", "Top losses", show=False),  # named in the confusion title: the footer is full
        Binding("x", "fixed_by_transfer", "Fixed by transfer", show=False),
    ]

    def __init__(self, state: RunState | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.initial_state = state or RunState()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Dashboard(self.initial_state, id="dashboard")
        yield Footer()

    @property
    def dashboard(self) -> Dashboard:
        return self.query_one(Dashboard)

    def on_mount(self) -> None:
        self._apply_layout(self.app.size.width, self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int) -> None:
        self.set_class(width < COMPACT_WIDTH or height < COMPACT_HEIGHT, "-compact")

    def action_panel(self, name: str) -> None:
        if name in PANELS:
            self.dashboard.show_panel(name)

    def action_toggle_metric(self) -> None:
        plot = self.query_one(CurvesPlot)
        plot.toggle_metric()
        plot.draw(self.dashboard.state)

    def action_cycle_confusion(self, step: int) -> None:
        self.query_one(ConfusionView).cycle(step)

    def action_toggle_normalised(self) -> None:
        self.query_one(ConfusionView).toggle_normalised()

    # --- galleries (app/screens/gallery.py): the images behind the confusion matrix --------------------
    def on_confusion_view_cell_chosen(self, message: ConfusionView.CellChosen) -> None:
        open_cell_gallery(self, message.strategy, message.true, message.predicted)

    def action_top_losses(self) -> None:
        open_top_losses(self, self.query_one(ConfusionView).selected)

    def action_fixed_by_transfer(self) -> None:
        open_fixed_by_transfer(self)


class LiveScreen(DashboardScreen):
    """Bound to the app's live run; the app forwards every engine event here."""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Button("■ Cancel run (c)", id="cancel-run", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel-run":
            self.app.action_cancel_run()

    def show_cancel(self, running: bool) -> None:
        self.query_one("#cancel-run", Button).display = running

    BINDINGS = [
        Binding("c", "app.cancel_run", "Cancel run"),
        Binding("n", "app.new_run", "New run"),
        Binding("r", "app.switch_mode('runs')", "Runs"),
        Binding("y", "app.switch_mode('studies')", "Studies"),
    ]

    def on_mount(self) -> None:
        super().on_mount()
        self.app.live_screen_ref = self
        self.dashboard.show(self.app.live_state)
        self.show_cancel(self.app.is_training)

    def on_engine(self, event: ev.Event | None, state: RunState) -> None:
        """Show `state` after `event` was folded into it; with no event, show it whole (a new or resumed run,
        a stop asked for, a refused start)."""
        dashboard = self.dashboard
        if event is None:
            dashboard.show(state)
            self.show_cancel(state.status in ("running", "starting"))
            return
        if dashboard.state is not state:
            dashboard.show(state)
        else:
            dashboard.apply(event)
        if isinstance(event, (ev.RunStarted, ev.RunResumed, ev.RunFinished)):
            self.show_cancel(state.status in ("running", "starting"))
        if isinstance(event, ev.RunFinished):  # the answer, in view: the comparison and its verdict (issue #25)
            dashboard.show_panel("results")
            dashboard.query_one("#analysis-scroll").scroll_home(animate=False)


class RunViewScreen(DashboardScreen):
    """A past run, rebuilt from its events.jsonl; escape returns to the list."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, state: RunState, title: str) -> None:
        super().__init__(state)
        self.sub_title = title

    def on_engine(self, event: ev.Event, state: RunState) -> None:
        """Attached to a growing events file: same incremental path as live."""
        self.dashboard.apply(event)
