"""Compare runs: the config keys that differ, validation curves overlaid (colour by run, marker by strategy)
and one results table."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from cifar_tui.app.widgets.curves import CurvesPlot, draw_order, thin, validation_points
from cifar_tui.engine.config.choices import STRATEGIES
from cifar_tui.engine.config.config_diff import config_diff
from cifar_tui.engine.config.effective_config import of_state
from cifar_tui.engine.report.figures import drawn_over
from cifar_tui.engine.run.state import RunState
from cifar_tui.render.config_diff_table import (
    RICH_NAMES,
    config_diff_title,
    run_label,  # as the diff's header and the plot's legend name runs
)
from cifar_tui.render.tables import COMPARISON_COLUMNS, comparison_cells

RUN_COLORS = ["cyan", "orange", "magenta", "green", "red", "blue", "yellow", "white"]
STRATEGY_MARKERS = {"scratch": "braille", "frozen": "dot", "finetune": "+", "probe": "o"}  # plotext names
MARKER_GLYPHS = {"braille": "⢕", "dot": "•", "+": "+", "o": "o"}  # what plotext draws for each
COMPACT_BELOW = 110  # columns: the Runs screen's narrow layout starts here too
COMPARE_COLUMNS = ("run", "data", "strategy", *COMPARISON_COLUMNS[1:])  # the comparison's cells after the run's
NARROW_LEAVES_OUT = ("data", "params", "img/s")


def strategy_legend(runs: list[tuple[str, RunState]], width: int | None = None) -> Text:
    """Each run in its colour and the marker of each strategy these runs have (engine's order): the plot's
    only legend. plotext's own (one label per run and strategy) covered the curves of a small plot: six
    labels on the six data rows of an 80x24 screen. Within `width` cells the items are packed into lines
    here, between items: Rich's own wrapping broke one in two ("... ⢕ scratch  •" / "frozen")."""
    present = {name for _, state in runs for name in state.strategies}
    names = [n for n in STRATEGIES if n in present] + sorted(present - set(STRATEGIES))
    # each run by its number too, written at the end of its curves: under NO_COLOR the colour was all
    items = [Text(f"{i + 1}━ {run_label(run_id)}", style=RICH_NAMES.get(RUN_COLORS[i % len(RUN_COLORS)],
                                                                         RUN_COLORS[i % len(RUN_COLORS)]))
             for i, (run_id, _) in enumerate(runs)]
    items += [Text(("| " if index == 0 else "") + f"{MARKER_GLYPHS[STRATEGY_MARKERS.get(n, 'braille')]} {n}")
              for index, n in enumerate(names)]
    legend, line = Text(no_wrap=True, overflow="ellipsis"), 0
    for item in items:
        if line and width is not None and line + 2 + item.cell_len > width:
            legend.append("\n")
            line = 0
        elif line:
            legend.append("  ")
            line += 2
        legend.append_text(item)
        line += item.cell_len
    return legend


class CompareCurves(CurvesPlot):
    """Reuses the cached, fast rendering of the Live curves; draws several runs instead of one."""

    def draw_runs(self, runs: list[tuple[str, RunState]]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("validation accuracy")
        plt.xlabel("epoch")
        limit = max(20, self.size.width // 3)
        ends: list[tuple[int, tuple[float, float], str]] = []  # (run number, last point, colour) of each curve
        for index, (_run_id, state) in enumerate(runs):
            color = RUN_COLORS[index % len(RUN_COLORS)]
            for name in draw_order(state, drawn_over(validation_points(state))):  # frozen's markers on top
                s = state.strategies[name]
                points = thin([(h["epoch"], h["val_accuracy"]) for h in s.history
                               if h.get("val_accuracy") is not None], limit)
                if points:
                    plt.plot([p[0] for p in points], [p[1] for p in points], color=color,
                             marker=STRATEGY_MARKERS.get(name, "braille"))  # no label: the legend line names them
                    ends.append((index + 1, points[-1], color))
        last = max((h["epoch"] for _, state in runs for s in state.strategies.values() for h in s.history),
                   default=0)
        if last:
            plt.xticks(list(range(1, last + 1, max(1, last // 10))))  # whole epochs (plotext chose 1.50)
        plt.xlim(0.8, (last or 1) + 0.1 * len(runs) + 0.2)  # room right of the last epoch for the run numbers
        for number, (x, y), color in ends:  # side by side: runs with the same last point keep both numbers
            plt.text(str(number), x + 0.1 * number, y, color=color, alignment="left")
        plt.ylim(0, 1)
        self._version += 1
        self.refresh()


class CompareScreen(Screen):
    CSS_PATH = "../styles/compare_diff.tcss"
    # The table's rows are what `e` / `x` act on; Textual would focus the first focusable widget, the diff.
    AUTO_FOCUS = "#compare-table"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("e", "top_losses", "Top losses"),
        Binding("x", "fixed_by_transfer", "Fixed by transfer"),
    ]

    def __init__(self, runs: list[tuple[str, RunState]]) -> None:
        super().__init__()
        self.runs = runs
        self.compact: bool | None = None  # the table's narrow form (decided by the terminal's width)
        self.rows: list[tuple[str, RunState, str]] = []  # (run, its state, strategy) of each table row
        self.sub_title = "comparing " + ", ".join(run_id for run_id, _ in runs)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Vertical(id="compare-body"):
            yield Static(id="compare-diff-title")
            # A DataTable: many differing keys scroll under a header that stays (run names, in their colours)
            yield DataTable(id="compare-diff", cursor_type="none", show_cursor=False, fixed_columns=1)
            yield Static(strategy_legend(self.runs, self.app.size.width - 2), id="compare-legend")
            yield CompareCurves(id="compare-curves")
            yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.diff = config_diff([of_state(state) for _, state in self.runs])  # what trained
        self.query_one("#compare-diff-title", Static).update(config_diff_title(self.diff))
        self.fill_diff()
        self.fill_table()
        self.call_after_refresh(self.query_one(CompareCurves).draw_runs, self.runs)

    def fill_diff(self) -> None:
        """One row per differing key, one column per run (named and coloured as in the legend)."""
        table = self.query_one("#compare-diff", DataTable)
        table.display = bool(self.diff)
        table.add_column(Text("key", style="bold"))
        for index, (run_id, _) in enumerate(self.runs):
            color = RUN_COLORS[index % len(RUN_COLORS)]
            table.add_column(Text(run_label(run_id), style=RICH_NAMES.get(color, color)))
        for key, values in self.diff.items():
            # Text: a plain str cell is read as markup ("[...]" in a path lost, a stray "[/x]" an error)
            table.add_row(Text(key, style="bold"), *[Text(v.text()) for v in values])

    def on_resize(self) -> None:
        legend = self.query_one("#compare-legend", Static)
        legend.update(strategy_legend(self.runs, self.app.size.width - 2))  # 2: the line's padding
        self.fill_table()

    def fill_table(self) -> None:
        """One row per run and strategy. Below 110 columns a run is named as in the plot's legend and the
        config diff (`alpha-0001`): with the full id the test accuracy fell off an 80-column screen."""
        compact = self.app.size.width < COMPACT_BELOW
        if compact == self.compact:
            return
        self.compact = compact
        table = self.query_one("#compare-table", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        # narrow: without the data set (in the config diff when it differs), params and img/s (`runs show` has
        # them), so that every column through time is on an 80-column screen (epochs was cut to "ep")
        shown = [c for c in COMPARE_COLUMNS if not (compact and c in NARROW_LEAVES_OUT)]
        for column in shown:
            table.add_column(column)
        self.rows = []
        for index, (run_id, state) in enumerate(self.runs):
            color = RUN_COLORS[index % len(RUN_COLORS)]
            for name, s in state.strategies.items():
                self.rows.append((run_id, state, name))
                cells = dict(zip(COMPARE_COLUMNS, [Text(run_label(run_id) if compact else run_id, style=color),
                                                   state.dataset.get("name", ""), name,
                                                   *comparison_cells(s.summary(), state.dataset.get("test"))],
                                 strict=True))
                table.add_row(*[cells[c] for c in shown])
        table.move_cursor(row=cursor)


    # --- galleries of the run under the cursor (app/screens/gallery.py) ----------------------------------
    def _cursor_row(self) -> tuple[str, RunState, str] | None:
        table = self.query_one("#compare-table", DataTable)
        return self.rows[table.cursor_row] if self.rows and 0 <= table.cursor_row < len(self.rows) else None

    def action_top_losses(self) -> None:
        from cifar_tui.app.screens.gallery_open import open_run_gallery

        row = self._cursor_row()
        if row is not None:
            open_run_gallery(self.app, row[1], "top_losses", row[2])

    def action_fixed_by_transfer(self) -> None:
        from cifar_tui.app.screens.gallery_open import open_run_gallery

        row = self._cursor_row()
        if row is not None:
            open_run_gallery(self.app, row[1], "fixed_by_transfer", row[2])  # the row's strategy: see there
