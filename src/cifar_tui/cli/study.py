"""`cifar-tui study SPEC` (run or continue a grid of runs) and `cifar-tui studies list|show|export`."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import typer

from cifar_tui.cli.headless import EXIT_BY_SIGNAL, EXIT_STRATEGY_FAILED, INTERRUPTED, fail, stop_on_signals
from cifar_tui.cli.study_plan import dry_run_lines, list_shipped_studies, parse_sets
from cifar_tui.cli.study_views import load_study, print_study
from cifar_tui.cli.typer_apps import RunsDir, app
from cifar_tui.engine.errors import UserError
from cifar_tui.engine.runtime.backend import chosen_backend
from cifar_tui.engine.store.paths import resolve_runs_dir

studies_app = typer.Typer(help="Browse studies (grids of runs).", no_args_is_help=True)
app.add_typer(studies_app, name="studies")


def cell_line(outcome, total: int) -> str:
    accs = "  ".join(f"{n} {100 * s['test_accuracy']:.1f}%" for n, s in (outcome.summary or {}).get(
        "strategies", {}).items() if s.get("test_accuracy") is not None)
    if outcome.action == "refused":  # its configuration cannot run: no run, the study goes on
        return f"cell {outcome.cell.index + 1}/{total} {outcome.cell.label}: failed, {outcome.summary['error']}"
    verb = {"skipped": "already done", "resumed": "resumed", "new": "ran"}[outcome.action]
    if outcome.action == "skipped" and outcome.status == "failed":
        verb = "kept (a strategy diverged: a result; --retry-failed runs it again)"
    return (f"cell {outcome.cell.index + 1}/{total} {outcome.cell.label}: {verb}, {outcome.status} "
            f"(run {outcome.run_id})  {accs}").rstrip()


@app.command()
def study(
    spec_ref: str | None = typer.Argument(None, metavar="SPEC", help="A study TOML file, or a shipped study's name "
                                          "(cifar-tui study --list)."),
    list_shipped: bool = typer.Option(False, "--list", help="List the shipped studies, their questions and sizes."),
    preset: str | None = typer.Option(None, "--preset", "-p", help="Override the spec's preset (quick/paper)."),
    sets: list[str] = typer.Option([], "--set", help="Override a base knob: --set dataset=digits (repeatable)."),
    backend: str | None = typer.Option(None, "--backend", help="Keras backend of every cell: tensorflow, jax or "
                                       "torch (absent: the spec's, else $KERAS_BACKEND, else tensorflow)."),
    name: str | None = typer.Option(None, "--name", help="Study id (default: the spec's name)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and what would happen; run nothing."),
    parallel: int = typer.Option(1, "--parallel", help="Cells at once, one process each (one per GPU)."),
    retry_failed: bool = typer.Option(False, "--retry-failed",
                                      help="Run cells again whose strategy diverged (NaN loss); by default a "
                                           "divergence is kept as the cell's result."),
    plain: bool | None = typer.Option(None, "--plain/--rich", help="Plain lines (default when not a TTY)."),
    runs_dir: Path | None = RunsDir,
    executor: str = typer.Option("local", "--executor", help="local (this host) or slurm (a job array)."),
    partition: str | None = typer.Option(None, "--partition", help="Slurm: partition."),
    time_min: int | None = typer.Option(None, "--time", help="Slurm: time limit per task, minutes (240)."),
    mem_gb: float | None = typer.Option(None, "--mem-gb", help="Slurm: memory per task, GB."),
    account: str | None = typer.Option(None, "--account", help="Slurm: account to charge."),
    gpus_per_task: int | None = typer.Option(None, "--gpus-per-task", help="Slurm: GPUs per task (1; 0 allowed)."),
    cpus_per_task: int | None = typer.Option(None, "--cpus-per-task", help="Slurm: CPUs per task."),
    max_parallel: int | None = typer.Option(None, "--max-parallel", help="Slurm: tasks running at once."),
    sbatch: list[str] = typer.Option([], "--sbatch", help="Slurm: any sbatch option, --sbatch qos=high (repeatable)."),
    wait: bool = typer.Option(False, "--wait", help="Slurm: follow the tasks until they end, then the statistics."),
) -> None:
    """Run a study grid headless, or continue it: finished cells are skipped, stopped ones resumed. --set on an
    axis picks its values (--set seed=[0] --set image_size=[32,96]); --dry-run says how many cells and how long."""
    from cifar_tui.engine.study.runner import open_record
    from cifar_tui.engine.study.spec import load_spec

    if list_shipped:
        list_shipped_studies()
        return
    if spec_ref is None:
        raise fail("give a study: a TOML file or a shipped study's name (cifar-tui study --list shows them)")
    folder = resolve_runs_dir(runs_dir)
    try:
        overrides = parse_sets(sets)
        if preset is not None:
            overrides["preset"] = preset
        if backend is not None or (os.environ.get("KERAS_BACKEND") and "backend" not in overrides):
            overrides["backend"] = chosen_backend(backend)
        spec = load_spec(spec_ref, overrides)
        if name is not None:
            from cifar_tui.engine.store.ids import validate_name

            spec.name = validate_name(name)
            spec.cells()
        record = open_record(spec, folder)
    except UserError as exc:
        raise fail(str(exc), exc.exit_code) from None
    if parallel < 1:
        raise fail(f"--parallel must be at least 1, got {parallel}")
    if executor not in ("local", "slurm"):
        raise fail(f"--executor must be local or slurm, got {executor!r}")
    if dry_run:
        dry_run_lines(spec, record, folder, retry_failed)
        return
    if executor == "slurm":
        from cifar_tui.cli.slurm import parse_sbatch, run_on_slurm

        try:
            extra = parse_sbatch(sbatch)
        except UserError as exc:
            raise fail(str(exc)) from None
        run_on_slurm(spec, folder, {"partition": partition, "time": time_min, "mem_gb": mem_gb, "account": account,
                                    "gpus_per_task": gpus_per_task, "cpus_per_task": cpus_per_task,
                                    "max_parallel": max_parallel, "sbatch": extra}, wait, retry_failed)
        return
    from cifar_tui.cli.slurm import refuse_local_while_on_slurm

    refuse_local_while_on_slurm(record, folder)  # a cell queued on Slurm is not run here as well
    again = continue_command(spec_ref, preset, sets, name, runs_dir, parallel, overrides.get("backend"))
    run_cells(spec, folder, plain, parallel, retry_failed, again=again)




def continue_command(spec_ref: str, preset: str | None, sets: list[str], name: str | None,
                     runs_dir: Path | None, parallel: int, backend: str | None = None) -> str:
    """The `study` command line that continues this study when pasted: the spec as the user named it
    (a shipped study by name, a file by its path) and every option that shapes the cells or finds them."""
    import shlex

    words = ["cifar-tui", "study", spec_ref]
    if preset is not None:
        words += ["--preset", preset]
    if backend is not None:
        words += ["--backend", backend]
    for item in sets:
        words += ["--set", item]
    if name is not None:
        words += ["--name", name]
    if runs_dir is not None:
        words += ["--runs-dir", str(runs_dir)]
    if parallel > 1:
        words += ["--parallel", str(parallel)]
    return shlex.join(words)


def run_cells(spec, folder: Path, plain: bool | None, parallel: int = 1, retry_failed: bool = False,
              again: str | None = None) -> None:
    from cifar_tui.cli.progress import progress_sink
    from cifar_tui.engine.study.parallel import run_study_parallel
    from cifar_tui.engine.study.runner import run_study

    if plain is None:
        from cifar_tui.render.terminal import can_redraw

        plain = not can_redraw(sys.stdout)
    total = len(spec.cells())
    typer.echo(f"study {spec.name}: {total} cells, results in {folder}"
               + (f", {parallel} at a time (logs in {folder / '.studies' / spec.name / 'logs'})" if parallel > 1
                  else ""))
    displays = []

    def say(line: str) -> None:  # the terminal gone (EIO, a disowned job): the study goes on, recorded
        with contextlib.suppress(OSError):
            typer.echo(line)

    def display(cell):
        if plain:  # one line per finished cell, nothing per epoch
            return None
        say(f"cell {cell.index + 1}/{total} {cell.label}")
        sink = progress_sink(False)
        displays.append(sink)
        return sink

    def on_cell(outcome):
        while displays:
            displays.pop().close()
        say(cell_line(outcome, total))

    with stop_on_signals() as (stop_event, received):
        try:
            if parallel > 1:
                outcomes = run_study_parallel(spec, folder, parallel, stop_event, on_cell=on_cell,
                                              retry_failed=retry_failed)
            else:
                outcomes = run_study(spec, folder, stop_event, display=display, on_cell=on_cell,
                                     retry_failed=retry_failed)
        except UserError as exc:
            while displays:
                displays.pop().close()
            raise fail(str(exc), exc.exit_code) from None
    print_study(*load_study(folder, spec.name), runs_dir=folder)
    if received:
        typer.echo(f"study stopped; continue it with: {again or 'cifar-tui study ' + spec.name}", err=True)
        raise typer.Exit(EXIT_BY_SIGNAL.get(received[0], 130))
    if any(o.status == "failed" and o.action != "skipped" for o in outcomes):  # a kept divergence is old news
        raise typer.Exit(EXIT_STRATEGY_FAILED)


def load_study_or_fail(folder: Path, name: str, reference: str | None = None):
    try:
        return load_study(folder, name, reference)
    except UserError as exc:
        raise fail(str(exc)) from None


@app.command("study-cell", hidden=True)
def study_cell(
    run_id: str = typer.Option(..., "--run-id"),
    config_file: Path | None = typer.Option(None, "--config", help="The cell's config (JSON); none: resume."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """One cell of a parallel study, in its own process (started by `study --parallel`)."""
    from cifar_tui.cli.headless import execute
    from cifar_tui.engine.config.config import ExperimentConfig
    from cifar_tui.engine.run.session import record_and_run, resume_and_run

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
    from cifar_tui.engine.study.record import scan_studies
    from cifar_tui.engine.study.stats import cell_results

    folder = resolve_runs_dir(runs_dir)
    records, damaged = scan_studies(folder)
    if not records and not damaged:
        from cifar_tui.engine.study.spec import NO_STUDY_YET

        typer.echo(f"no studies in {folder}: {NO_STUDY_YET}")
        return
    for record in records:
        results = cell_results(record, folder)
        done = sum(r.status == "finished" for r in results)
        typer.echo(f"{record.name:<28} {done:>3}/{len(results):<3} cells finished  {record.title}")
    for name, why in damaged:
        typer.echo(f"{name:<28} damaged: {why}")


REFERENCE_HELP = "Compare with this value of the study's x axis instead of the spec's reference."


@studies_app.command("show")
def studies_show(
    name: str = typer.Argument(..., metavar="STUDY"),
    json_out: bool = typer.Option(False, "--json", help="The verdict, cells, per-condition mean/std/n and tests."),
    reference: str | None = typer.Option(None, "--reference", help=REFERENCE_HELP),
    runs_dir: Path | None = RunsDir,
) -> None:
    """A study's verdict, cells and statistics: mean ± std (n) per strategy and condition; each condition against
    the reference and each strategy against the others, paired by seed and test image (95% interval, Holm)."""
    record, results, conditions = load_study_or_fail(resolve_runs_dir(runs_dir), name, reference)
    if json_out:
        from cifar_tui.engine.study.report import study_json
        from cifar_tui.engine.verdict.study import study_verdict

        folder = resolve_runs_dir(runs_dir)
        data = study_json(record, results, conditions, folder)
        typer.echo(json.dumps({"verdict": study_verdict(record, results, conditions, folder).to_dict(), **data},
                              indent=2))
        return
    from cifar_tui.cli.slurm import print_cluster_states

    print_cluster_states(record, resolve_runs_dir(runs_dir))  # Slurm studies: queued/running/... per cell
    print_study(record, results, conditions, resolve_runs_dir(runs_dir))


@studies_app.command("cancel")
def studies_cancel(name: str = typer.Argument(..., metavar="STUDY"), runs_dir: Path | None = RunsDir) -> None:
    """Cancel a Slurm study's queued and running tasks (scancel); the runs stay resumable."""
    from cifar_tui.cli.slurm import cancel

    folder = resolve_runs_dir(runs_dir)
    record = load_study_or_fail(folder, name)[0]
    cancel(record, folder)


@studies_app.command("export")
def studies_export(
    name: str = typer.Argument(..., metavar="STUDY"),
    out: Path | None = typer.Option(None, "--out", help="Folder for the report (default: exports/STUDY)."),
    reference: str | None = typer.Option(None, "--reference", help=REFERENCE_HELP),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Write the study's results chart (error bars over seeds, published reference lines), its validation
    curves as bands over seeds, cells.csv, summary.csv, differences.csv and report.md."""
    record, results, conditions = load_study_or_fail(resolve_runs_dir(runs_dir), name, reference)
    from cifar_tui.engine.store.atomic import report_folder
    from cifar_tui.engine.study.report import export_study

    target = out or Path("exports") / f"study-{name}"
    try:
        with report_folder(target, INTERRUPTED) as folder:  # whole or absent: Ctrl-C leaves nothing half-written
            page = target / export_study(record, results, conditions, folder, runs_dir=resolve_runs_dir(runs_dir)).name
    except OSError as exc:
        raise fail(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    typer.echo(f"report written to {page}")
