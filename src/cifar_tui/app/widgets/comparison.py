"""The study's result table: one row per strategy, filled in as strategies finish."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from cifar_tui.app.theme import STATUS_STYLES, STRATEGY_STYLES
from cifar_tui.engine.run.state import RunState
from cifar_tui.render.tables import COMPARISON_COLUMNS, comparison_cells


class ComparisonTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for column in COMPARISON_COLUMNS:
            self.add_column(column, key=column)

    def show(self, state: RunState) -> None:
        self.clear()
        for name, s in state.strategies.items():
            status, *rest = comparison_cells(s.summary(), state.dataset.get("test"))
            test = Text(rest[1], style="bold" if s.test_accuracy is not None else "")
            self.add_row(Text(name, style=STRATEGY_STYLES.get(name, "")),
                         Text(status, style=STATUS_STYLES.get(status, "")), rest[0], test, *rest[2:], key=name)
