"""A recorded study read and printed: shared by `studies show`, the end of `study` and `study --executor
slurm --wait` (its own module so that the Slurm commands and the study commands do not import each other)."""

from __future__ import annotations

from pathlib import Path

from cifar_tui.engine.errors import UserError


def load_study(folder: Path, name: str, reference: str | None = None):
    """(record, cell results, conditions); `reference` overrides the record's reference condition."""
    from cifar_tui.engine.study.record import load_record
    from cifar_tui.engine.study.spec import reference_value
    from cifar_tui.engine.study.stats import aggregate, cell_results

    record = load_record(folder, name)
    if record is None:
        raise UserError(f"no study {name!r} in {folder} (see `cifar-tui studies list`)")
    if reference is not None:
        record.reference = reference_value(name, record.x, record.axes.get(record.x, []), reference)
    results = cell_results(record, folder)
    return record, results, aggregate(results)


def print_study(record, results, conditions, runs_dir: Path | None = None) -> None:
    """The verdict first (issue #25), then the table, failed cells and every comparison."""
    from rich.console import Console

    from cifar_tui.engine.run.state import status_words
    from cifar_tui.engine.study.domains import evidence_lines
    from cifar_tui.engine.study.report import statistics_lines
    from cifar_tui.engine.study.trained_on import trained_on_lines
    from cifar_tui.engine.verdict.study import study_verdict
    from cifar_tui.render.tables import print_verdict, study_table

    console = Console()
    print_verdict(console, study_verdict(record, results, conditions, runs_dir))
    console.print(study_table(record, results, conditions))
    for line in trained_on_lines(results):  # a digits / random-init study says so
        console.print(line, markup=False, highlight=False)
    for r in results:  # why a cell failed, in one line each (a refused cell has no run to open)
        if r.status == "failed" and r.reason:
            console.print(f"cell {r.index + 1} {r.label}: failed, {r.reason}", style="red", markup=False,
                          highlight=False)
        if r.quiet_s is not None:  # its writer holds the run's lock but is silent: stopped or busy
            console.print(f"cell {r.index + 1} {r.label}: {status_words(r.status, r.quiet_s)}", style="yellow",
                          markup=False, highlight=False)
    for kind, text in statistics_lines(record, conditions) + evidence_lines(record, results, conditions, runs_dir):
        style = {"head": "bold", "yes": "green", "note": "dim"}.get(kind, "")
        console.print(text if kind in ("head", "note") else f"  {text}", style=style, markup=False,
                      highlight=False)
