"""What a study would be, before it runs: `study --list` (the shipped studies and their questions), `--set`
values read from the command line, and `study --dry-run` (how many cells, how long here, what each would do)."""

from __future__ import annotations

from pathlib import Path

import typer

from cifar_tui.engine.errors import UserError


def parse_sets(items: list[str]) -> dict:
    """`--set key=value` (value read as TOML: numbers, booleans, "strings", [lists]) into overrides. A bare
    word is a string, and a bracketed list of bare words a list (`--set train_size=[10/class,1.0]`)."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set needs KEY=VALUE, got {item!r}")
        text = raw.strip()
        if text.startswith("[") and text.endswith("]") and _toml_value(text) is None:
            parts = [part.strip() for part in text[1:-1].split(",") if part.strip()]
            out[key.strip()] = [part if (value := _toml_value(part)) is None else value for part in parts]
        else:
            out[key.strip()] = raw if (value := _toml_value(raw)) is None else value
    return out


def _toml_value(raw: str):
    """The TOML value `raw` spells, or None (a bare word)."""
    import tomllib

    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return None


def list_shipped_studies() -> None:
    """`study --list`: each shipped study's name, cells, preset and question."""
    import textwrap

    from cifar_tui.engine.study.spec import load_spec, shipped_studies

    for name in shipped_studies():
        spec = load_spec(name)
        preset = spec.base.get("preset", "custom")
        sized = ", CPU-sized" if preset == "quick" else ", for a GPU" if preset == "paper" else ""
        typer.echo(f"{name}  ({len(spec.cells())} cells, preset {preset}{sized})")
        typer.echo(textwrap.fill(spec.question or spec.title, 100, initial_indent="    ", subsequent_indent="    "))
    typer.echo("run one: cifar-tui study NAME (--dry-run first: cells and time here; --set seed=[0] to narrow)")


def dry_run_lines(spec, record, folder: Path, retry_failed: bool) -> None:
    """`study --dry-run`: the number of cells and their estimated time here, then what each cell would do."""
    from cifar_tui.engine.study.estimate import estimate_cells
    from cifar_tui.engine.study.missing_inputs import missing_inputs
    from cifar_tui.engine.study.runner import cell_status, decide, refusal

    cells, lines, to_run = spec.cells(), [], []
    for cell in cells:
        run_id = record.cells[cell.index].run_id
        action, _ = decide(folder, run_id, retry_failed)
        todo = {"resume": "resume", "new": "run", "close": "close (every strategy had finished before it was "
                "recorded stopped: recorded finished, not trained again)"}.get(action, "skip (finished)")
        if action == "skipped" and cell_status(folder, run_id) == "failed":
            todo = "keep (a strategy diverged; --retry-failed runs it again)"
        elif action == "new" and (reason := refusal(cell)):
            todo = f"will fail: {reason}"
        elif action in ("new", "resume"):
            to_run.append(cell.config)
        lines.append(f"cell {cell.index + 1}/{len(cells)} {cell.label}: {todo}")
    typer.echo(f"study {spec.name}: {len(cells)} cells, {len(to_run)} to run")
    for line in estimate_cells(to_run, folder).lines() if to_run else []:
        typer.echo(line)
    for line in missing_inputs(to_run):
        typer.echo(line)
    for line in lines:
        typer.echo(line)
