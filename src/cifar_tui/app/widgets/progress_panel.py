"""Progress of each strategy: phase, epoch x/y, a batch progress bar, loss/accuracy, images/s and ETA."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar

from cifar_tui.engine.run.state import NOT_STARTED, RunState, StrategyState
from cifar_tui.render.tables import duration as clock
from cifar_tui.render.theme import STATUS_STYLES, STRATEGY_STYLES

PHASE_NAMES = {"train": "training", "head": "head warm-up", "finetune": "fine-tune"}


def eta_seconds(s: StrategyState, batch_size: int) -> float | None:
    """Remaining time from the current rate: steps left in this epoch and the epochs after it."""
    if not s.images_per_s or not s.steps or s.status != "running":
        return None
    current = s.epoch + 1
    steps_left = (s.steps - s.step) + max(0, s.epochs - current) * s.steps
    return steps_left * batch_size / s.images_per_s


class StrategyRow(Horizontal):
    def __init__(self, name: str) -> None:
        super().__init__(classes="strategy-row")
        self.strategy = name
        # Children exist from the start, so a row can be updated before it has finished mounting.
        self.status = Label("pending", classes="s-status")
        self.bar = ProgressBar(total=1, show_eta=False, show_percentage=False, classes="s-bar")
        self.stats = Label("", classes="s-stats")

    def compose(self) -> ComposeResult:
        yield Label(Text(self.strategy, style=STRATEGY_STYLES.get(self.strategy, "bold")), classes="s-name")
        yield self.status
        yield self.bar
        yield self.stats

    def show(self, s: StrategyState, batch_size: int) -> None:
        # Labels here have fixed sizes (app.tcss): update without a layout pass, which would re-render
        # every panel of the screen four times a second.
        status = self.status
        if s.status == "running" and s.resumed_at:  # resumed, no batch yet (JAX compiles): not the old epoch
            # every epoch done before the stop (cancelled before its test): the resumed attempt only tests
            label = f"resuming {s.resumed_at}/{s.epochs}" if s.resumed_at <= s.epochs else "resumed: test"
            status.update(Text(label, style="green"), layout=False)
        elif s.status == "running":
            # between epochs, the one just finished; once a phase has started (no batch yet), its first epoch
            epoch = min(s.epoch + 1, s.epochs) if s.step or s.batch_loss is None else max(s.epoch, 1)
            status.update(Text(f"{PHASE_NAMES.get(s.phase, s.phase)} {epoch}/{s.epochs}", style="green"), layout=False)
        else:
            status.update(Text(s.status, style=STATUS_STYLES.get(s.status, "")), layout=False)
        bar = self.bar
        if s.status == "running" and s.steps:
            bar.update(total=s.steps, progress=s.step)
        elif s.status in ("finished",):
            bar.update(total=1, progress=1)
        elif s.status in ("pending", NOT_STARTED):  # also a resumed one waiting: not the stopped attempt's
            bar.update(total=1, progress=0)
        stats = self.stats
        if s.status == "running" and s.batch_loss is not None:
            acc = "-" if s.batch_accuracy is None else f"{100 * s.batch_accuracy:.1f}%"
            stats.update(f"loss {s.batch_loss:.3f} acc {acc} {s.images_per_s or 0:.0f} img/s "
                         f"ETA {clock(eta_seconds(s, batch_size))}", layout=False)
        elif s.status == "running":  # resumed, or a new phase, before its first batch: no rate, no ETA yet
            phase = PHASE_NAMES.get(s.phase, s.phase)  # known once the (resumed) phase has started
            stats.update(f"{phase} phase, starting" if phase else "starting", layout=False)
        elif s.status == "finished" and s.test_accuracy is not None:
            stats.update(f"test {100 * s.test_accuracy:.1f}% best val {100 * (s.best_val_accuracy or 0):.1f}% "
                         f"@ epoch {s.best_epoch}", layout=False)
        elif (partial := s.best_of_finished_epochs()) is not None:  # cancelled: its epochs, never its test
            # short: the row's stats column has ~28 cells at 80 columns
            stats.update(f"val {100 * partial[1]:.1f}% @ ep {partial[0]}, untested", layout=False)
        elif s.status == "failed":
            stats.update(Text(s.error, style="red"), layout=False)
        else:
            stats.update("", layout=False)


class ProgressPanel(Vertical):
    """One row per strategy of the run."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, StrategyRow] = {}

    def show(self, state: RunState) -> None:
        if tuple(state.strategies) != tuple(self.rows):
            self.remove_children()
            self.rows = {name: StrategyRow(name) for name in state.strategies}
            self.mount_all(self.rows.values())
        batch_size = int(state.config.get("batch_size", 64) or 64)
        for name, row in self.rows.items():
            row.show(state.strategies[name], batch_size)
