"""The study's result table: one row per strategy, filled in as strategies finish."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from engine.state import RunState
from tui.tables import duration as clock
from tui.theme import STATUS_STYLES, STRATEGY_STYLES

COLUMNS = ("strategy", "status", "best val@ep", "test", "params train/all", "time", "img/s")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def short_count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e3 else str(n)


class ComparisonTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for column in COLUMNS:
            self.add_column(column, key=column)

    def show(self, state: RunState) -> None:
        self.clear()
        for name, s in state.strategies.items():
            best = "-" if s.best_val_accuracy is None else f"{pct(s.best_val_accuracy)}@{s.best_epoch}"
            params = f"{short_count(s.trainable_params)}/{short_count(s.total_params)}" if s.total_params else "-"
            rate = s.train_images_per_s()
            test = Text(pct(s.test_accuracy), style="bold" if s.test_accuracy is not None else "")
            self.add_row(Text(name, style=STRATEGY_STYLES.get(name, "")),
                         Text(s.status, style=STATUS_STYLES.get(s.status, "")), best, test, params,
                         clock(s.seconds) if s.seconds is not None else "-", "-" if not rate else f"{rate:.0f}",
                         key=name)
