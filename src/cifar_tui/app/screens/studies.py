"""The Studies screen: every study in the runs folder, its grid's progress, its statistics and its chart.

It re-reads the study records every few seconds off the UI thread, so a study that `cifar-tui study`
is running in another process (or over SSH) fills in as cells finish. Enter on a cell opens its run.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from cifar_tui.app.screens.run_loading import RunLoaded, error_text, load_in_worker, show_loaded_run
from cifar_tui.app.widgets.study_bands import StudyBands, StudyBandsLoaded
from cifar_tui.app.widgets.study_chart import StudyChart
from cifar_tui.app.widgets.verdict import verdict_renderable
from cifar_tui.engine.config.choices import DEFAULT_STRATEGIES, STRATEGIES
from cifar_tui.engine.study.domains import evidence_lines
from cifar_tui.engine.study.record import scan_studies
from cifar_tui.engine.study.report import statistics_lines
from cifar_tui.engine.study.spec import NO_STUDY_YET
from cifar_tui.engine.study.stats import aggregate, cell_results
from cifar_tui.engine.study.trained_on import trained_on_lines
from cifar_tui.engine.verdict.study import study_verdict
from cifar_tui.render.tables import short_id
from cifar_tui.render.theme import STATUS_STYLES

RELOAD_S = 3.0


class StudiesLoaded(Message):
    def __init__(self, studies: list, cluster: dict | None = None, damaged: list[str] | None = None,
                 verdicts: dict | None = None) -> None:
        super().__init__()
        self.studies = studies  # [(record, results, conditions)]
        self.verdicts = verdicts or {}  # study name -> its verdict (engine/verdict/study.py), made off the UI thread
        self.cluster = cluster or {}  # study name -> [CellState] for studies submitted to Slurm
        self.damaged = damaged or []  # names of study records that cannot be read (not in the table)


class StudiesFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class StudiesScreen(Screen):
    CSS_PATH = "../styles/study_bands.tcss"
    BINDINGS = [
        Binding("enter", "open_cell", "Open run", show=True),
        Binding("f5", "reload", "Reload"),
        Binding("l", "app.switch_mode('live')", "Live"),
        Binding("r", "app.switch_mode('runs')", "Runs"),
        Binding("b", "cycle_bands", "Bands"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.studies: list = []
        self.cluster: dict = {}
        self.selected = ""
        self.last_error = ""
        self.damaged_said: list[str] = []
        self.verdicts: dict = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="studies-top"):
            with Vertical(id="studies-left"):
                yield DataTable(id="studies-table", cursor_type="row", zebra_stripes=True)
                yield DataTable(id="cells-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="studies-right"):
                yield StudyChart(id="study-chart")
                yield StudyBands(id="study-bands")
                with VerticalScroll(id="study-stats-box"):  # comparisons outgrow the box: scroll them
                    yield Static(id="study-stats")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "studies: grids of runs (cifar-tui study SPEC)"
        self.query_one("#studies-table", DataTable).add_columns("study", "cells", "title")
        self.action_reload()
        self.set_interval(RELOAD_S, self.action_reload)

    @work(thread=True, exclusive=True, group="studies", exit_on_error=False)
    def action_reload(self) -> None:
        folder = self.app.runs_dir
        out = []
        try:
            records, damaged = scan_studies(folder)
            verdicts = {}
            for record in records:
                results = cell_results(record, folder)
                out.append((record, results, aggregate(results)))
                verdicts[record.name] = study_verdict(*out[-1], folder)
        except Exception as exc:  # a damaged study or run folder: say so, keep the app up
            self.post_message(StudiesFailed(error_text(exc, f"cannot read the studies in {folder}")))
            return
        self.post_message(StudiesLoaded(out, cluster_states([record for record, _, _ in out], folder),
                                        [name for name, _ in damaged], verdicts))

    def on_studies_failed(self, message: StudiesFailed) -> None:
        if message.error != self.last_error:  # reloaded every few seconds: say it once
            self.last_error = message.error
            self.notify(message.error, severity="error")

    def on_studies_loaded(self, message: StudiesLoaded) -> None:
        self.last_error = ""
        if message.damaged != self.damaged_said:  # not in the table, never left out silently; said once
            self.damaged_said = message.damaged
            if message.damaged:
                self.notify(f"damaged, not shown: {', '.join(message.damaged)} (`cifar-tui studies show NAME` "
                            f"says why)", severity="error")
        self.studies = message.studies
        self.cluster = message.cluster
        self.verdicts = message.verdicts
        table = self.query_one("#studies-table", DataTable)
        table.clear()
        for record, results, _ in self.studies:
            done = sum(r.status == "finished" for r in results)
            table.add_row(record.name, f"{done}/{len(results)}", record.title, key=record.name)
        if not self.studies:
            self.query_one("#study-stats", Static).update(f"No studies yet. From a shell, {NO_STUDY_YET}.")
            return
        names = [record.name for record, _, _ in self.studies]
        if self.selected not in names:
            self.selected = names[0]
        table.move_cursor(row=names.index(self.selected))
        self.show_study()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "studies-table" and event.row_key.value != self.selected:
            self.selected = str(event.row_key.value)
            self.show_study()

    def current(self):
        return next((s for s in self.studies if s[0].name == self.selected), None)

    def show_study(self) -> None:
        study = self.current()
        if study is None:
            return
        record, results, conditions = study
        cells = self.query_one("#cells-table", DataTable)
        cursor = cells.cursor_row
        strategies = [n for n in STRATEGIES if any(n in c.per_strategy for c in conditions)] or list(DEFAULT_STRATEGIES)
        cells.clear(columns=True)  # the study's own strategies as columns
        cluster = self.cluster.get(record.name)  # a Slurm study: its queued/running/... state and job per cell
        # The axis names once, in the header; each row its values only: on 80 columns the values that tell the
        # cells apart stay visible ("standard 0.0002 0", not "variant=standard train_fraction=0.0...")
        axes = " ".join(results[0].key) if results else "cell"
        cells.add_columns(axes, "status", *[f"{n} %" for n in strategies], "run", *(["job"] if cluster else []))
        for r in results:
            accs = [f"{100 * r.test_accuracy[n]:.1f}" if n in r.test_accuracy else "NaN" if n in r.diverged else "-"
                    for n in strategies]
            status, job = ("running, quiet" if r.quiet_s is not None else r.status), []  # no heartbeat lately
            if cluster and r.index < len(cluster):
                status = cluster[r.index].state
                job = [f"{cluster[r.index].job_id} {cluster[r.index].node}".strip() or "-"]
            values = " ".join(str(v) for v in r.key.values())
            run = short_id(r.run_id) if r.run_id else "-"  # as the Runs screen shortens it: the full id was cut
            cells.add_row(values, Text(status, style=STATUS_STYLES.get(status.split(",")[0], "")), *accs, run, *job,
                          key=str(r.index))
        if results:
            cells.move_cursor(row=min(cursor, len(results) - 1))
        self.query_one(StudyChart).draw(record, conditions)
        self.query_one(StudyBands).show(record, results, self.app.runs_dir)
        verdict = self.verdicts.get(record.name) or study_verdict(record, results, conditions, self.app.runs_dir)
        lines = Text("\n")
        for line in trained_on_lines(results):  # what the cells trained on: digits, random init, ...
            lines.append(f"{line}\n", style="bold")
        for c in conditions:
            reference = record.reference is not None and c.key.get(record.x) == record.reference
            lines.append(f"{c.label}{' (reference)' if reference else ''}\n", style="bold")
            for name, s in c.per_strategy.items():
                lines.append(f"  {name:<9} {s.text()}\n")
        for r in results:  # why a cell failed (a refused cell has no run to open), as `studies show`
            if r.status == "failed" and r.reason:
                lines.append(f"cell {r.index + 1} {r.label}: failed, {r.reason}\n", style="red")
        evidence = evidence_lines(record, results, conditions, self.app.runs_dir)  # a domains study's
        for kind, text in statistics_lines(record, conditions) + evidence:  # the same lines as `studies show`
            style = {"head": "bold", "yes": "green", "no": "", "note": "dim"}[kind]
            lines.append(f"{text}\n" if kind in ("head", "note") else f"  {text}\n", style=style)
        self.query_one("#study-stats", Static).update(Group(verdict_renderable(verdict), lines))

    def action_cycle_bands(self) -> None:
        self.query_one(StudyChart).display = not self.query_one(StudyBands).cycle()

    def on_study_bands_loaded(self, message: StudyBandsLoaded) -> None:
        """Published reference lines (CIFAR-10 with ImageNet weights only) go on the results chart too."""
        chart = self.query_one(StudyChart)
        if chart.references != message.references and self.current() is not None:
            chart.references = message.references
            record, _, conditions = self.current()
            chart.draw(record, conditions)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "cells-table":
            self.action_open_cell()

    def action_open_cell(self) -> None:
        study = self.current()
        cells = self.query_one("#cells-table", DataTable)
        if study is None or not cells.row_count:
            return
        result = study[1][min(cells.cursor_row, len(study[1]) - 1)]
        if not result.run_id or result.status == "pending":
            self.notify(result.reason if result.status == "failed" else "this cell has no run yet")
            return
        if result.status == "running":
            self.app.watch_run(result.run_id)
            return
        self.open_cell_run(result.run_id, f"{result.run_id} (study {study[0].name}, {result.label})")

    @work(thread=True, exclusive=True, group="open-run", exit_on_error=False)
    def open_cell_run(self, run_id: str, title: str) -> None:
        """Read off the UI thread, like the Runs screen; a damaged run is a notification, not a crash."""
        load_in_worker(self, self.app.runs_dir, run_id, title)

    def on_run_loaded(self, message: RunLoaded) -> None:
        show_loaded_run(self.app, message)


def cluster_states(records: list, folder) -> dict:
    """Per-cell Slurm states of the studies that have jobs (one squeue call for all); unknown without Slurm."""
    from cifar_tui.engine.study.cell_status import SlurmUnavailable, cell_states, slurm_queue

    submitted = [record for record in records if any(c.job_id for c in record.cells)]
    if not submitted:
        return {}
    try:
        queue = slurm_queue()
    except SlurmUnavailable:
        queue = None
    return {record.name: cell_states(record, folder, queue) for record in submitted}
