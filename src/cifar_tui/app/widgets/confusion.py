"""Confusion-matrix heatmap of a finished strategy: counts or row-normalised, coloured cells, class names.

A cell is selected with the arrow keys or the mouse; `enter` (or a click on the selected cell) posts
`CellChosen`, which the screen answers with that cell's gallery of test images."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Label

from cifar_tui.engine.run.state import RunState
from cifar_tui.render.theme import STRATEGY_STYLES, heat_style


class ConfusionView(Vertical):
    """`[` / `]` switch strategy, `p` toggles counts / row percentages (bindings live on the screen)."""

    class CellChosen(Message):
        """The user asked for the images of cell (true, predicted) of `strategy`'s matrix."""

        def __init__(self, strategy: str, true: int, predicted: int) -> None:
            super().__init__()
            self.strategy, self.true, self.predicted = strategy, true, predicted

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.selected: str | None = None
        self.normalised = False
        self._state: RunState | None = None

    def compose(self) -> ComposeResult:
        yield Label("no strategy has finished yet", id="cm-title")
        yield DataTable(id="cm-table", cursor_type="cell", zebra_stripes=False, cell_padding=0)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        row, column = event.coordinate.row, event.coordinate.column
        if self.selected is not None and column > 0:  # column 0 holds the class names
            self.post_message(self.CellChosen(self.selected, row, column - 1))

    def cell_under_cursor(self) -> tuple[int, int] | None:
        """(true, predicted) of the selected cell, None on the class-name column."""
        coordinate = self.query_one(DataTable).cursor_coordinate
        return (coordinate.row, coordinate.column - 1) if coordinate.column > 0 else None

    def finished(self) -> list[str]:
        if self._state is None:
            return []
        return [n for n, s in self._state.strategies.items() if s.confusion_matrix is not None]

    def cycle(self, step: int) -> None:
        names = self.finished()
        if names:
            current = names.index(self.selected) if self.selected in names else 0
            self.selected = names[(current + step) % len(names)]
            self._redraw()

    def toggle_normalised(self) -> None:
        self.normalised = not self.normalised
        self._redraw()

    def show(self, state: RunState, newest: str | None = None) -> None:
        self._state = state
        names = self.finished()
        if newest in names or self.selected not in names:
            # a selection the state has no matrix for (a new run's) is dropped, not drawn as "test 0.0%"
            self.selected = newest if newest in names else (names[-1] if names else None)
        self._redraw()

    def _redraw(self) -> None:
        table = self.query_one(DataTable)
        title = self.query_one("#cm-title", Label)
        state = self._state
        if state is None or self.selected is None:
            title.update("no strategy has finished yet")
            table.clear(columns=True)
            return
        s = state.strategies[self.selected]
        matrix = s.confusion_matrix or []
        names = list(state.dataset.get("class_names") or [str(i) for i in range(len(matrix))])
        others = [n for n in self.finished() if n != self.selected]
        title.update(Text.assemble(
            (self.selected, STRATEGY_STYLES.get(self.selected, "")),
            f" test {100 * (s.test_accuracy or 0):.1f}% | ", ("row %" if self.normalised else "counts", "italic"),
            f" | [ ] {'/'.join(others) if others else 'switch'} | p % | enter/e/x images"))
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        # A fixed width: an auto width is settled by DataTable after the rows land, and a frame drawn in
        # between showed the column one cell narrower (a flaky snapshot on a loaded CI machine).
        table.add_column("true\\pred ", key="class", width=11)
        for i, name in enumerate(names):
            # right-aligned over the counts, which end one cell before the column does; Text, not markup:
            # an image folder's class may be named "[x]"
            table.add_column(Text(name[:4].rjust(4) + " "), key=str(i), width=5)
        for name, row in zip(names, matrix, strict=False):
            total = sum(row) or 1
            cells = []
            for count in row:
                share = count / total
                label = f"{100 * share:.0f}" if self.normalised else str(count)
                cells.append(Text(label.rjust(4) + " ", style=heat_style(share)))
            table.add_row(Text(name[:10].ljust(11)), *cells)
        # keep the selected cell across redraws; start on the first count, not on the class names
        table.move_cursor(row=cursor.row, column=max(1, cursor.column), animate=False)
