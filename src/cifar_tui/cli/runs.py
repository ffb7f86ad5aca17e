"""`cifar-tui runs ...` and `cifar-tui watch`: the run history from the command line. No TensorFlow here."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cifar_tui.cli.headless import INTERRUPTED, fail
from cifar_tui.cli.typer_apps import RunsDir, app, runs_app
from cifar_tui.engine.errors import UserError
from cifar_tui.engine.store.paths import resolve_runs_dir


@runs_app.command("list")
def runs_list(
    runs_dir: Path | None = RunsDir,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List recorded runs, newest first."""
    from cifar_tui.engine.store.reader import list_runs

    try:
        listings = list_runs(resolve_runs_dir(runs_dir))
    except UserError as exc:
        raise fail(str(exc)) from None
    if json_out:
        typer.echo(json.dumps([r.to_dict() for r in listings], indent=2, default=str))
        return
    if not listings:
        typer.echo(f"no runs in {resolve_runs_dir(runs_dir)} yet: start one with `cifar-tui run`")
        return
    from cifar_tui.render.tables import runs_lines

    typer.echo("\n".join(runs_lines(listings)))


@runs_app.command("show")
def runs_show(
    run_ref: str = typer.Argument(..., metavar="RUN", help="Run id (or a unique part of it, or 'latest')."),
    runs_dir: Path | None = RunsDir,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show one run: its verdict, summary, per-epoch table and notices."""
    from cifar_tui.engine.store.reader import load_run

    try:
        loaded = load_run(resolve_runs_dir(runs_dir), run_ref)
    except UserError as exc:
        raise fail(str(exc)) from None
    summary = loaded.state.summary()
    summary["status"] = loaded.listing.status if loaded.listing.status != "damaged" else summary["status"]
    from cifar_tui.engine.verdict.run import run_verdict

    verdict = run_verdict(summary, loaded.listing.path)
    if json_out:
        summary["verdict"] = verdict.to_dict()
        summary["history"] = {n: s.history for n, s in loaded.state.strategies.items()}
        summary["skipped_lines"] = loaded.skipped_lines
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    from rich.console import Console

    from cifar_tui.render.tables import comparison_table, epochs_table, print_verdict, recorded_backend

    console = Console()
    print_verdict(console, verdict)  # the answer first (issue #25)
    d = summary["dataset"]
    console.print(f"run {loaded.listing.run_id}: {summary['status']}; dataset {d.get('name')} "
                  f"({d.get('train')}/{d.get('val')}/{d.get('test')} train/val/test; augmentation "
                  f"{summary['config'].get('augment', '-')}); weights: {summary['weights'].get('label', '-')}; "
                  f"backend {recorded_backend(loaded.state)}",
                  markup=False, highlight=False)
    from cifar_tui.engine.data.facts import data_facts

    for label, text in data_facts(d):
        console.print(f"{label}: {text}", markup=False, highlight=False)
    console.print(comparison_table(summary))
    for name, s in summary["strategies"].items():  # what a result means beyond its numbers (issue #24)
        if s.get("note"):
            console.print(f"NOTE: {name}: {s['note']}", style="bold yellow", markup=False, highlight=False)
    for name, s in summary["strategies"].items():  # each strategy's recipe in one line (issue #18)
        if s.get("recipe"):
            console.print(f"recipe {name}: {s['recipe']}" + (f"; test set: {s['evaluation']}" if s.get("evaluation")
                                                               else ""), markup=False, highlight=False)
    console.print(epochs_table(loaded.state))
    from cifar_tui.engine.analysis.per_class import per_class_of_run
    from cifar_tui.render.analysis import backbone_change_text, per_class_table

    tested_per_class = per_class_of_run(loaded.state, loaded.listing.path)  # exact tests where predictions exist
    for part in (per_class_table(loaded.state, tested_per_class), backbone_change_text(loaded.state)):
        if part is not None:
            console.print(part)
    for notice in summary.get("notices", []):
        console.print(f"NOTE: {notice}", style="bold yellow", markup=False, highlight=False)
    for line in loaded.skipped_lines:
        console.print(f"skipped unreadable event {line}", style="yellow", markup=False, highlight=False)


@runs_app.command("compare")
def runs_compare(
    run_refs: list[str] = typer.Argument(..., metavar="RUN...", help="Two or more runs (ids or unique parts)."),
    runs_dir: Path | None = RunsDir,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The config keys that differ between several runs, then one table of their results, strategy by
    strategy. Values are what trained (digits, random init), with what was asked beside them where it
    differs. With --json each run carries `config_diff`: its values of the differing keys (null: not used by
    its strategies), and `config_diff_requested`: what it asked for where that differs."""
    from cifar_tui.engine.config.config_diff import config_diff
    from cifar_tui.engine.config.effective_config import of_state
    from cifar_tui.engine.store.reader import load_run

    try:
        loaded = [load_run(resolve_runs_dir(runs_dir), ref) for ref in run_refs]
    except UserError as exc:
        raise fail(str(exc)) from None
    if len({run.listing.run_id for run in loaded}) < 2:  # one run "compared" with itself says nothing
        raise fail("runs compare needs two or more different runs, got "
                   + ", ".join(dict.fromkeys(run.listing.run_id for run in loaded)))
    summaries = [run.state.summary() | {"status": run.listing.status} for run in loaded]
    diff = config_diff([of_state(run.state) for run in loaded])  # what trained, the request beside it
    for index, summary in enumerate(summaries):
        summary["config_diff"] = {key: values[index].value if values[index].used else None
                                  for key, values in diff.items()}
        summary["config_diff_requested"] = {key: values[index].requested for key, values in diff.items()
                                            if values[index].differs}
    if json_out:
        typer.echo(json.dumps(summaries, indent=2, default=str))
        return
    from rich.console import Console

    from cifar_tui.render.config_diff_table import config_diff_table
    from cifar_tui.render.tables import compare_table

    console = Console()
    console.print(config_diff_table([s["run_id"] for s in summaries], diff))
    console.print(compare_table(summaries, console.width))


@runs_app.command("export")
def runs_export(
    run_ref: str = typer.Argument(..., metavar="RUN"),
    out: Path | None = typer.Option(None, "--out", help="Folder for the report (default: exports/RUN)."),
    fmt: str = typer.Option("md", "--format", help="md or html."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Write a report: PNG figures, image galleries, epochs.csv, confusion-matrix CSVs, and report.md or .html."""
    from cifar_tui.engine.store.reader import load_run

    if fmt not in ("md", "html"):
        raise fail(f"--format must be md or html, got {fmt!r}")
    try:
        loaded = load_run(resolve_runs_dir(runs_dir), run_ref)
    except UserError as exc:
        raise fail(str(exc)) from None
    from cifar_tui.engine.report.export import export_run
    from cifar_tui.engine.store.atomic import report_folder

    target = out or Path("exports") / loaded.listing.run_id
    try:
        with report_folder(target, INTERRUPTED) as folder:  # whole or absent: Ctrl-C leaves nothing half-written
            page = target / export_run(loaded.state, folder, fmt, run_dir=loaded.listing.path).name
    except OSError as exc:
        raise fail(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    typer.echo(f"report written to {page}")


@runs_app.command("note")
def runs_note(
    run_ref: str = typer.Argument(..., metavar="RUN"),
    name: str | None = typer.Option(None, "--name", help="A display name (the run id stays)."),
    note: str | None = typer.Option(None, "--note", help="Free text shown in the Runs screen and lists."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Rename or annotate a run."""
    from cifar_tui.engine.store.reader import write_notes

    if name is None and note is None:
        raise fail("give --name and/or --note")
    from cifar_tui.engine.store.reader import resolve_run

    try:
        folder = resolve_run(resolve_runs_dir(runs_dir), run_ref)
        notes = write_notes(folder.parent, folder.name, name=name, note=note)
    except UserError as exc:
        raise fail(str(exc)) from None
    said = [f"{key} {notes[key]!r}" for key in ("name", "note") if notes.get(key)]  # a line, not raw JSON
    typer.echo(f"run {folder.name}: " + ("; ".join(said) or "no name or note"))


@app.command()
def watch(
    run_ref: str = typer.Argument("latest", metavar="RUN", help="The run to follow (default: the newest)."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Open the app on a run that another process is writing, and follow it live."""
    from cifar_tui.engine.store.reader import resolve_run

    try:
        folder = resolve_run(resolve_runs_dir(runs_dir), run_ref)
    except UserError as exc:
        raise fail(str(exc)) from None
    from cifar_tui.cli.launch import launch_app

    raise typer.Exit(launch_app(resolve_runs_dir(runs_dir), watch=folder.name))
