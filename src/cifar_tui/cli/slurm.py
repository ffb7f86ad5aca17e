"""`cifar-tui study SPEC --executor slurm` (submit the pending cells as a job array, optionally wait), the
per-cell cluster status of `studies show`, and `cifar-tui studies cancel NAME`."""

from __future__ import annotations

from pathlib import Path

import typer

from cifar_tui.cli.headless import fail, stop_on_signals
from cifar_tui.cli.study_views import load_study, print_study
from cifar_tui.engine.errors import UserError

STATE_WORDS = {"finished": "finished", "failed": "FAILED", "cancelled": "cancelled (resubmitted by the next run)",
               "queued": "queued", "running": "running", "pending": "not submitted", "unknown": "unknown"}


def parse_sbatch(items: list[str]) -> dict[str, str]:
    """`--sbatch qos=high` (repeatable) into extra sbatch options."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--sbatch needs OPTION=VALUE (e.g. --sbatch qos=high), got {item!r}")
        out[key.strip().lstrip("-")] = value.strip()
    return out


def state_line(state, total: int) -> str:
    where = "  ".join(x for x in (f"job {state.job_id}" if state.job_id else "",
                                   f"on {state.node}" if state.node else "",
                                   f"run {state.run_id}" if state.run_id else "") if x)
    word = STATE_WORDS.get(state.state, state.state)
    return f"cell {state.index + 1}/{total} {state.label}: {word}  {where}".rstrip()


def run_on_slurm(spec, folder: Path, flags: dict, wait: bool, retry_failed: bool = False) -> None:
    """Submit (or reconcile and resubmit) the study's cells; with `wait`, follow them to the end."""
    from cifar_tui.engine.study.slurm import SlurmOptions, follow_study, submit_study

    try:
        options = SlurmOptions.from_sources(spec.slurm, flags)
        submitted = submit_study(spec, folder, options, retry_failed)
    except UserError as exc:
        raise fail(str(exc), exc.exit_code) from None
    total = len(submitted)
    new = [s for s in submitted if s.action in ("new", "resume")]
    arrays = sorted({s.job_id.split("_")[0] for s in new})
    typer.echo(f"study {spec.name}: {total} cells; submitted {len(new)} as Slurm job array {', '.join(arrays)}"
               if new else f"study {spec.name}: {total} cells; nothing to submit")
    for s in submitted:
        verb = {"new": "submitted", "resume": "resubmitted (resumes its run)"}.get(s.action, s.state)
        typer.echo(f"cell {s.index + 1}/{total} {s.label}: {verb}  job {s.job_id or '-'}  run {s.run_id}")
    if not wait:
        typer.echo(f"follow it with: cifar-tui studies show {spec.name}  (cancel: cifar-tui studies cancel "
                   f"{spec.name}; logs in {folder / '.studies' / spec.name / 'slurm'})")
        return
    with stop_on_signals() as (stop_event, received):
        try:
            states = follow_study(folder, spec.name, lambda st: typer.echo(state_line(st, total)), stop_event)
        except UserError as exc:
            raise fail(str(exc), exc.exit_code) from None
    print_study(*load_study(folder, spec.name), runs_dir=folder)
    if received:
        typer.echo(f"stopped waiting; the jobs go on (cifar-tui studies show {spec.name})", err=True)
        raise typer.Exit(130)
    if any(s.state == "failed" for s in states):
        raise typer.Exit(1)


def refuse_local_while_on_slurm(record, folder: Path) -> None:
    """`study SPEC` on this host while cells are queued or running on Slurm would run them twice: refuse.
    (Where Slurm cannot be asked, say from a copy of the runs folder, the local run goes ahead.)"""
    from cifar_tui.engine.study.cell_status import SlurmUnavailable, cell_states, slurm_queue

    if not any(c.job_id for c in record.cells):
        return
    try:
        states = cell_states(record, folder, slurm_queue())
    except SlurmUnavailable:
        return
    live = [s for s in states if s.state in ("queued", "running")]
    if live:
        raise fail(f"study {record.name} has {len(live)} cell(s) queued or running on Slurm; continue it with "
                   f"--executor slurm, or cancel them first (cifar-tui studies cancel {record.name})")


def print_cluster_states(record, folder: Path) -> None:
    """Per-cell Slurm status under `studies show` (only for studies that were submitted to Slurm)."""
    from cifar_tui.engine.study.cell_status import SlurmUnavailable, cell_states, slurm_queue

    if not any(c.job_id for c in record.cells):
        return
    try:
        queue, why = slurm_queue(), ""
    except SlurmUnavailable as exc:
        queue, why = None, str(exc)
    states = cell_states(record, folder, queue)
    for state in states:
        line = state_line(state, len(states))
        typer.echo(line + (f"  log {state.log}" if state.log and state.state in ("failed", "running") else ""))
    if why:
        typer.echo(f"Slurm not asked: {why}", err=True)


def cancel(record, folder: Path) -> None:
    from cifar_tui.engine.study.slurm import cancel_study

    if not any(c.job_id for c in record.cells):
        raise fail(f"study {record.name} has no Slurm jobs (it was run on this host; stop it with Ctrl-C)")
    try:
        ids = cancel_study(record, folder)
    except UserError as exc:
        raise fail(str(exc), exc.exit_code) from None
    if not ids:
        typer.echo(f"study {record.name}: no queued or running task to cancel")
        return
    typer.echo(f"study {record.name}: cancelled {len(ids)} task(s): {' '.join(ids)} "
               f"(continue it with: cifar-tui study SPEC --executor slurm)")
