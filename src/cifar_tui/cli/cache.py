"""`cifar-tui cache list|clear`: the frozen-backbone feature cache under the runs folder (no TensorFlow)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from cifar_tui.cli.headless import fail
from cifar_tui.cli.typer_apps import RunsDir, app
from cifar_tui.engine.store.paths import resolve_runs_dir

cache_app = typer.Typer(help="The feature cache of frozen-backbone training (runs/.cache/features).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _describe(key: dict | None) -> str:
    if not key:
        return "unreadable (clear it)"
    return (f"{key.get('view', '?')}, {key.get('image_size', '?')} px, scaling {key.get('input_scaling', '?')}, "
            f"{key.get('precision', '?')}, backbone {str(key.get('backbone', '?'))[:12]}")


@cache_app.command("list")
def cache_list(runs_dir: Path | None = RunsDir) -> None:
    """One line per cached extraction: id, images, size, last written, what it is."""
    from cifar_tui.engine.store.feature_files import cache_root, list_entries

    folder = resolve_runs_dir(runs_dir)
    entries = list_entries(folder)
    if not entries:
        typer.echo(f"no cached features in {cache_root(folder)}")
        return
    # Two lines per entry, so that both fit 80 columns: the numbers, then what the features are.
    typer.echo(f"{'id':<20}  {'images':>8}  {'MB':>8}  written")
    for e in entries:
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(e["modified"]))
        typer.echo(f"{e['id']:<20}  {e['images']:>8,}  {e['megabytes']:>8.1f}  {written}")
        typer.echo(f"    {_describe(e['key'])}")
    typer.echo(f"{len(entries)} cached extraction(s), {sum(e['megabytes'] for e in entries):.1f} MB, in")
    typer.echo(f"    {cache_root(folder)}")


@cache_app.command("clear")
def cache_clear(
    ids: list[str] = typer.Argument(None, metavar="[ID]...", help="Only these ids (see `cache list`)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove without asking."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Remove cached features (all, or the given ids); the next run extracts them again."""
    from cifar_tui.engine.store.feature_files import cache_root, clear, list_entries

    folder = resolve_runs_dir(runs_dir)
    present = sorted(e["id"] for e in list_entries(folder))
    chosen = []
    for given in ids or []:  # an id, or a unique start of one (as run ids)
        matches = [i for i in present if i == given] or [i for i in present if i.startswith(given)]
        if len(matches) != 1:
            why = "no cached features with id" if not matches else f"{len(matches)} cached extractions start with"
            raise fail(f"{why} {given} in {cache_root(folder)} (see `cache list`)")
        chosen.append(matches[0])
    if not present:
        typer.echo(f"no cached features in {cache_root(folder)}")
        return
    count = len(set(chosen)) if ids else len(present)
    if not yes and not confirmed(f"remove {count} cached extraction(s) from {cache_root(folder)}?"):
        typer.echo("nothing removed")
        return
    removed = clear(folder, sorted(set(chosen)) or None)
    typer.echo(f"removed {len(removed)} cached extraction(s)")


def confirmed(question: str) -> bool:
    """The user's yes; no answer (stdin at its end, closed, unreadable; Ctrl-C at the prompt) is a no, not
    "interrupted"."""
    try:
        return typer.confirm(question)
    except (typer.Abort, RuntimeError, OSError):  # RuntimeError: input() without a sys.stdin
        typer.echo()
        return False
