"""The study's result table: one row per strategy, filled in as strategies finish."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from cifar_tui.engine.run.state import RunState
from cifar_tui.render.tables import (
    COMPARE_DROPPED_FIRST,
    COMPARISON_COLUMNS,
    NOTE_MARK,
    columns_that_fit,
    comparison_cells,
)
from cifar_tui.render.theme import STATUS_STYLES, STRATEGY_STYLES


class ComparisonTable(DataTable):
    """Where the panel cannot hold every column, img/s, then params, then time leave (`columns_that_fit`,
    as in `runs compare`) and the panel's subtitle names them: cut at the panel's edge, they were hidden
    without a word (a reviewer at 120x40)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.state: RunState | None = None

    def on_resize(self) -> None:
        if self.state is not None:
            self.show(self.state)

    def show(self, state: RunState) -> None:
        self.state = state
        rows = {name: (name, *comparison_cells(s.summary(), state.dataset.get("test")))
                for name, s in state.strategies.items()}
        width = self.size.width or 10_000  # not laid out yet: every column, until the first resize
        shown = columns_that_fit(list(COMPARISON_COLUMNS), list(rows.values()), width)
        # the columns anew each time: a DataTable's column only ever widens, so a cell once wide ("not
        # started" before a refused start) kept pushing the last columns past the panel's edge
        cursor = self.cursor_row
        self.clear(columns=True)
        for column in shown:
            self.add_column(column, key=column)
        left_out = [c for c in COMPARE_DROPPED_FIRST if c not in shown]  # in the order they leave
        notes = [f"{', '.join(left_out)} left out (runs show)"] if left_out else []
        if any(s.note() for s in state.strategies.values()):  # the table's own "*": `runs show` captions it
            notes.insert(0, f"{NOTE_MARK} tested before unfreezing")
        if self.parent is not None:
            self.parent.border_subtitle = "; ".join(notes)
        for name, s in state.strategies.items():
            cells = dict(zip(COMPARISON_COLUMNS, rows[name], strict=True))
            cells["strategy"] = Text(name, style=STRATEGY_STYLES.get(name, ""))
            cells["status"] = Text(cells["status"], style=STATUS_STYLES.get(cells["status"], ""))
            cells["test±SE"] = Text(cells["test±SE"], style="bold" if s.test_accuracy is not None else "")
            self.add_row(*[cells[c] for c in shown], key=name)
        self.move_cursor(row=cursor, animate=False)
