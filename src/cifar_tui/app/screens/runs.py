"""The Runs screen: every recorded run, filterable and sortable; enter opens one as it looked live."""

from __future__ import annotations

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from cifar_tui.app.screens.run_loading import (
    CompareLoaded,
    ListingsRead,
    RunLoaded,
    error_text,
    load_in_worker,
    show_loaded_run,
)
from cifar_tui.app.screens.runs_rows import (
    COLUMNS,
    COMPACT_COLUMNS,
    FULL_ID_MAX,
    WIDE_FROM,
    accuracy_cells,
    listing_row,
    matches,
    sort_key,
    status_cell,
)
from cifar_tui.engine.errors import UserError
from cifar_tui.engine.store.reader import RunListing, delete_run, list_runs, load_run, write_notes
from cifar_tui.render.tables import SHORT_NAMES, duration, short_id
from cifar_tui.render.theme import STATUS_STYLES


class RunsScreen(Screen):
    # The table has the keys (enter, s, space, c, ...); `/` goes to the filter. With the filter focused first,
    # `s` or `space` typed into it and filtered the list instead.
    AUTO_FOCUS = "#runs-table"
    # The footer shows what fits, in this order: where to go and what to do with runs first (at 80 columns
    # Compare, Live and Studies fell off the end); every key stays in the palette (^p).
    BINDINGS = [
        Binding("enter", "open_run", "Open", show=True),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("n", "app.new_run", "New run"),
        Binding("l", "app.switch_mode('live')", "Live"),
        Binding("y", "app.switch_mode('studies')", "Studies"),
        Binding("u", "resume", "Resume"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "sort_next", "Sort"),
        Binding("d", "delete_run", "Delete"),
        Binding("a", "annotate", "Name/note"),
        Binding("f5", "reload", "Reload"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.listings: list[RunListing] = []
        self.sort_column = 0
        self.sort_reverse = True
        self.marked: list[str] = []  # runs picked for comparison, in the order picked
        self.compact: bool | None = None  # the narrow column set (decided by the terminal's width)
        self.with_probe = False  # a probe column: only while a listed run has a probe
        self.shown_columns: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Input(placeholder="filter runs (id, status, data set, name)...", id="runs-filter")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="runs-status")
        yield Footer()

    def on_mount(self) -> None:
        self.set_columns()
        self.action_reload()

    def set_columns(self) -> bool:
        """The columns for the terminal's width and the listed runs; True when they changed. With the probe's
        column a compact table names the strategies as `runs list` does (scr, frz, ft, prb) to fit 80."""
        compact = self.app.size.width < WIDE_FROM
        with_probe = any("probe" in r.strategies for r in self.listings)
        if (compact, with_probe) == (self.compact, self.with_probe) and self.shown_columns:
            return False
        self.compact, self.with_probe = compact, with_probe
        self.shown_columns = tuple(c for c in (COMPACT_COLUMNS if compact else COLUMNS)
                                   if c != "probe" or with_probe)
        short = compact and with_probe
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for column in self.shown_columns:
            table.add_column(SHORT_NAMES[column] if short and column in SHORT_NAMES else column, key=column)
        return True

    def on_resize(self) -> None:
        if self.set_columns():
            self.fill()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.read_listings()

    @work(thread=True, exclusive=True, group="list-runs", exit_on_error=False)
    def read_listings(self) -> None:
        """Every run folder's summary is read off the UI thread; any error becomes a line, not a crash."""
        try:
            self.post_message(ListingsRead(list_runs(self.app.runs_dir), None))
        except UserError as exc:
            self.post_message(ListingsRead([], str(exc)))
        except Exception as exc:  # a damaged runs folder must never end the app
            self.post_message(ListingsRead([], f"cannot list {self.app.runs_dir}: {type(exc).__name__}: {exc}"))

    def on_listings_read(self, message: ListingsRead) -> None:
        self.listings = message.listings
        if message.error:
            self.query_one("#runs-status", Static).update(Text(message.error, style="red"))
            return
        self.set_columns()  # the probe's column comes and goes with the runs that have one
        self.fill()

    def fill(self) -> None:
        table = self.query_one(DataTable)
        columns = self.shown_columns
        text = self.query_one("#runs-filter", Input).value
        shown = [r for r in self.listings if matches(r, text)]
        rows = sorted((listing_row(r) for r in shown), reverse=self.sort_reverse, key=sort_key(self.sort_column, shown))
        selected = None
        if table.row_count:
            selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        time_at = COLUMNS.index("time")
        by_id = {r.run_id: r for r in shown}
        shorten = self.compact or any(len(r.run_id) > FULL_ID_MAX for r in shown)
        for row in rows:
            cells = list(row)
            cells[0] = Text(("● " if row[0] in self.marked else "  ") + (short_id(row[0]) if shorten else row[0]))
            cells[1] = Text(status_cell(by_id[row[0]]), style=STATUS_STYLES.get(row[1], ""))
            cells[4:time_at] = accuracy_cells(by_id[row[0]], row[4:time_at])
            cells[time_at] = duration(row[time_at]) if row[time_at] else "-"
            cells[time_at + 1] = row[time_at + 1][:40]
            by_name = dict(zip(COLUMNS, cells, strict=True))
            table.add_row(*[by_name[c] for c in columns], key=row[0])
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))  # the cursor stays on the same run
        damaged = sum(1 for r in shown if r.status == "damaged")
        quiet = [r.quiet_s for r in shown if r.quiet_s is not None]
        marked = f"  {len(self.marked)} marked (c: compare)" if self.marked else ""
        note = f"{len(shown)} of {len(self.listings)} runs in {self.app.runs_dir}"
        if quiet:  # before the sort: the news comes first at 80 columns
            note += f"  ({len(quiet)} quiet: no heartbeat for {min(quiet):.0f} s{' or more' * (len(quiet) > 1)})"
        note += f"  sorted by {COLUMNS[self.sort_column]} {'desc' if self.sort_reverse else 'asc'}"
        note += f"  ({damaged} damaged)" if damaged else ""
        note += marked
        if any(str(row[3]).endswith("*") for row in rows):  # as `runs list` says it, on a line of its own
            note += "\n* = substitute data or weights used (the run's notices say which)"
        self.query_one("#runs-status", Static).update(note)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.fill()

    def on_key(self, event: events.Key) -> None:
        """`down` in the filter goes to the list it filtered."""
        if event.key == "down" and self.focused is self.query_one("#runs-filter", Input):
            self.query_one(DataTable).focus()
            event.stop()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter opens the highlighted run (the first match unless the cursor was moved)."""
        self.query_one(DataTable).focus()
        self.action_open_run()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        index = COLUMNS.index(str(event.column_key.value))
        self.sort_reverse = not self.sort_reverse if index == self.sort_column else index != 0
        self.sort_column = index
        self.fill()

    def action_sort_next(self) -> None:
        """The next column on screen (a hidden one, such as "started" at 80 columns, sorted out of sight)."""
        shown = [COLUMNS.index(c) for c in self.shown_columns]
        later = [i for i in shown if i > self.sort_column]
        self.sort_column = later[0] if later else shown[0]
        self.fill()

    def action_focus_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.open_or_follow(str(event.row_key.value))

    def action_open_run(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            self.open_or_follow(str(row_key.value))

    def action_delete_run(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        run_id = str(row_key.value)
        listing = next((r for r in self.listings if r.run_id == run_id), None)
        if listing is None or listing.status == "running" or run_id == self.app.live_run_id:
            self.notify("a run that is being written cannot be deleted", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                try:
                    delete_run(self.app.runs_dir, run_id)
                except (UserError, OSError) as exc:
                    self.notify(f"cannot delete {run_id}: {exc}", severity="error")
                self.action_reload()

        from cifar_tui.app.screens.dialogs import Confirm

        self.app.push_screen(Confirm(f"Delete run {run_id} and all its files?", "Delete", "Keep"), answered)

    def _cursor_run(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_resume(self) -> None:
        run_id = self._cursor_run()
        if run_id is not None:
            self.app.resume_run(run_id)

    def action_mark(self) -> None:
        run_id = self._cursor_run()
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        self.fill()

    def action_annotate(self) -> None:
        run_id = self._cursor_run()
        if run_id is None:
            return
        listing = next((r for r in self.listings if r.run_id == run_id), None)
        from cifar_tui.app.screens.dialogs import AnnotateRun

        def saved(values: tuple[str, str] | None) -> None:
            if values is None:
                return
            try:
                write_notes(self.app.runs_dir, run_id, name=values[0], note=values[1])
            except UserError as exc:
                self.notify(str(exc), severity="error")
            self.action_reload()

        self.app.push_screen(AnnotateRun(run_id, listing.name if listing else "", listing.note if listing else ""),
                             saved)

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.notify("mark two or more runs with space, then press c", severity="warning")
            return
        self.load_for_compare(list(self.marked))

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def load_for_compare(self, run_ids: list[str]) -> None:
        try:
            loaded = [(run_id, load_run(self.app.runs_dir, run_id).state) for run_id in run_ids]
        except Exception as exc:  # UserError, or anything a damaged folder raises: a notification
            self.post_message(CompareLoaded([], error_text(exc, "cannot compare these runs")))
            return
        self.post_message(CompareLoaded(loaded, None))

    def on_compare_loaded(self, message: CompareLoaded) -> None:
        if message.error:
            self.notify(message.error, severity="error")
            return
        from cifar_tui.app.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(message.runs))

    def open_or_follow(self, run_id: str) -> None:
        """A run still being written by another process is followed live; others are read once."""
        listing = next((r for r in self.listings if r.run_id == run_id), None)
        if listing is not None and listing.status == "running" and run_id != self.app.live_run_id:
            self.app.watch_run(run_id)
        else:
            self.open(run_id)

    @work(thread=True, exclusive=True, group="open-run", exit_on_error=False)
    def open(self, run_id: str) -> None:
        """Reading a long events file happens off the UI thread; the result comes back as a message."""
        load_in_worker(self, self.app.runs_dir, run_id)

    def on_run_loaded(self, message: RunLoaded) -> None:
        show_loaded_run(self.app, message)
