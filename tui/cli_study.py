"""`cifar-tui study SPEC` (run or continue a grid of runs) and `cifar-tui studies list|show|export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from engine.errors import UserError
from engine.store.paths import resolve_runs_dir
from tui.cli import RunsDir, app
from tui.cli_headless import EXIT_BY_SIGNAL, EXIT_STRATEGY_FAILED, fail, stop_on_signals

studies_app = typer.Typer(help="Browse studies (grids of runs).", no_args_is_help=True)
app.add_typer(studies_app, name="studies")


def parse_sets(items: list[str]) -> dict:
    """`--set key=value` (value read as TOML: numbers, booleans, "strings", [lists]) into overrides."""
    import tomllib

    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set needs KEY=VALUE, got {item!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare word: a string
        out[key.strip()] = value
    return out


def cell_line(outcome, total: int) -> str:
    accs = "  ".join(f"{n} {100 * s['test_accuracy']:.1f}%" for n, s in (outcome.summary or {}).get(
        "strategies", {}).items() if s.get("test_accuracy") is not None)
    verb = {"skipped": "already done", "resumed": "resumed", "new": "ran"}[outcome.action]
    return (f"cell {outcome.cell.index + 1}/{total} {outcome.cell.label}: {verb}, {outcome.status} "
            f"(run {outcome.run_id})  {accs}").rstrip()


@app.command()
def study(
    spec_ref: str = typer.Argument(..., metavar="SPEC", help="A study TOML file, or a shipped study's name."),
    preset: str | None = typer.Option(None, "--preset", "-p", help="Override the spec's preset (quick/paper)."),
    sets: list[str] = typer.Option([], "--set", help="Override a base knob: --set dataset=digits (repeatable)."),
    name: str | None = typer.Option(None, "--name", help="Study id (default: the spec's name)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and what would happen; run nothing."),
    parallel: int = typer.Option(1, "--parallel", help="Cells at once, one process each (one per GPU)."),
    plain: bool | None = typer.Option(None, "--plain/--rich", help="Plain lines (default when not a TTY)."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Run a study grid headless, or continue it: finished cells are skipped, stopped ones resumed."""
    from engine.study.runner import cell_status, open_record
    from engine.study.spec import load_spec

    folder = resolve_runs_dir(runs_dir)
    try:
        overrides = parse_sets(sets)
        if preset is not None:
            overrides["preset"] = preset
        spec = load_spec(spec_ref, overrides)
        if name is not None:
            from engine.store.ids import validate_name

            spec.name = validate_name(name)
            spec.cells()
        record = open_record(spec, folder)
    except UserError as exc:
        raise fail(str(exc), exc.exit_code) from None
    if parallel < 1:
        raise fail(f"--parallel must be at least 1, got {parallel}")
    cells = spec.cells()
    if dry_run:
        for cell in cells:
            status = cell_status(folder, record.cells[cell.index].run_id)
            todo = {"finished": "skip (finished)", "cancelled": "resume", "interrupted": "resume"}.get(status, "run")
            typer.echo(f"cell {cell.index + 1}/{len(cells)} {cell.label}: {todo}")
        return
    again = continue_command(spec_ref, preset, sets, name, runs_dir, parallel)
    run_cells(spec, folder, plain, parallel, again=again)


def continue_command(spec_ref: str, preset: str | None, sets: list[str], name: str | None,
                     runs_dir: Path | None, parallel: int) -> str:
    """The `study` command line that continues this study when pasted: the spec as the user named it
    (a shipped study by name, a file by its path) and every option that shapes the cells or finds them."""
    import shlex

    words = ["cifar-tui", "study", spec_ref]
    if preset is not None:
        words += ["--preset", preset]
    for item in sets:
        words += ["--set", item]
    if name is not None:
        words += ["--name", name]
    if runs_dir is not None:
        words += ["--runs-dir", str(runs_dir)]
    if parallel > 1:
        words += ["--parallel", str(parallel)]
    return shlex.join(words)


def run_cells(spec, folder: Path, plain: bool | None, parallel: int = 1, again: str | None = None) -> None:
    from engine.study.parallel import run_study_parallel
    from engine.study.runner import run_study
    from tui.cli_progress import progress_sink

    if plain is None:
        from tui.terminal import can_redraw

        plain = not can_redraw(sys.stdout)
    total = len(spec.cells())
    typer.echo(f"study {spec.name}: {total} cells, results in {folder}"
               + (f", {parallel} at a time (logs in {folder / '.studies' / spec.name / 'logs'})" if parallel > 1
                  else ""))
    displays = []

    def display(cell):
        if plain:  # one line per finished cell, nothing per epoch
            return None
        typer.echo(f"cell {cell.index + 1}/{total} {cell.label}")
        sink = progress_sink(False)
        displays.append(sink)
        return sink

    def on_cell(outcome):
        while displays:
            displays.pop().close()
        typer.echo(cell_line(outcome, total))

    with stop_on_signals() as (stop_event, received):
        try:
            if parallel > 1:
                outcomes = run_study_parallel(spec, folder, parallel, stop_event, on_cell=on_cell)
            else:
                outcomes = run_study(spec, folder, stop_event, display=display, on_cell=on_cell)
        except UserError as exc:
            while displays:
                displays.pop().close()
            raise fail(str(exc), exc.exit_code) from None
    print_study(*load_study(folder, spec.name))
    if received:
        typer.echo(f"study stopped; continue it with: {again or 'cifar-tui study ' + spec.name}", err=True)
        raise typer.Exit(EXIT_BY_SIGNAL.get(received[0], 130))
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(EXIT_STRATEGY_FAILED)


def load_study(folder: Path, name: str):
    from engine.study.record import load_record
    from engine.study.stats import aggregate, cell_results

    record = load_record(folder, name)
    if record is None:
        raise UserError(f"no study {name!r} in {folder} (see `cifar-tui studies list`)")
    results = cell_results(record, folder)
    return record, results, aggregate(results)


def load_study_or_fail(folder: Path, name: str):
    try:
        return load_study(folder, name)
    except UserError as exc:
        raise fail(str(exc)) from None


def print_study(record, results, conditions) -> None:
    from rich.console import Console

    from tui.tables import study_table

    console = Console()
    console.print(study_table(record, results, conditions))
    for condition in conditions:
        for diff in condition.differences:
            console.print(f"  {condition.label}: {diff.text()}", markup=False, highlight=False)


@app.command("study-cell", hidden=True)
def study_cell(
    run_id: str = typer.Option(..., "--run-id"),
    config_file: Path | None = typer.Option(None, "--config", help="The cell's config (JSON); none: resume."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """One cell of a parallel study, in its own process (started by `study --parallel`)."""
    from engine.config import ExperimentConfig
    from engine.session import record_and_run, resume_and_run
    from tui.cli_headless import execute

    folder = resolve_runs_dir(runs_dir)
    if config_file is None:
        execute(lambda display, stop: resume_and_run(folder, run_id, display=display, stop_event=stop), True, False)
        return
    try:
        config = ExperimentConfig.from_dict(json.loads(config_file.read_text())).validate()
    except (OSError, ValueError, UserError) as exc:
        raise fail(f"cannot read cell config {config_file}: {exc}") from None
    execute(lambda display, stop: record_and_run(config, folder, display=display, stop_event=stop, run_id=run_id),
            True, False)


@studies_app.command("list")
def studies_list(runs_dir: Path | None = RunsDir) -> None:
    """The studies in the runs folder, with their progress."""
    from engine.study.record import list_studies
    from engine.study.stats import cell_results

    folder = resolve_runs_dir(runs_dir)
    records = list_studies(folder)
    if not records:
        typer.echo(f"no studies in {folder} (start one: cifar-tui study data-efficiency --preset quick)")
        return
    for record in records:
        results = cell_results(record, folder)
        done = sum(r.status == "finished" for r in results)
        typer.echo(f"{record.name:<28} {done:>3}/{len(results):<3} cells finished  {record.title}")


@studies_app.command("show")
def studies_show(
    name: str = typer.Argument(..., metavar="STUDY"),
    json_out: bool = typer.Option(False, "--json", help="Cells, per-condition mean/std/n and differences."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """A study's cells and its statistics: mean ± std (n) per strategy and condition, paired differences."""
    record, results, conditions = load_study_or_fail(resolve_runs_dir(runs_dir), name)
    if json_out:
        from engine.study.report import study_json

        typer.echo(json.dumps(study_json(record, results, conditions), indent=2))
        return
    print_study(record, results, conditions)


@studies_app.command("export")
def studies_export(
    name: str = typer.Argument(..., metavar="STUDY"),
    out: Path | None = typer.Option(None, "--out", help="Folder for the report (default: exports/STUDY)."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Write the study's results chart (error bars over seeds), cells.csv, summary.csv and report.md."""
    record, results, conditions = load_study_or_fail(resolve_runs_dir(runs_dir), name)
    from engine.study.report import export_study

    target = out or Path("exports") / f"study-{name}"
    try:
        page = export_study(record, results, conditions, target)
    except OSError as exc:
        raise fail(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    typer.echo(f"report written to {page}")
