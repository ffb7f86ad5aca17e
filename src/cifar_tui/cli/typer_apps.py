"""The Typer application objects every `cifar-tui` command registers on, and the options they share.

Its own module so that the command modules (`cli.py`, `cli_runs.py`, `cli_study.py`, `cli_cache.py`) import
it and not each other: `cifar_tui.cli.main` imports the others to register their commands,
none imports `cifar_tui.cli.main`.
"""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Transfer learning vs training from scratch on CIFAR-10, live in your terminal.",
                  context_settings={"help_option_names": ["-h", "--help"]})
runs_app = typer.Typer(help="Browse the run history.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

RunsDir = typer.Option(None, "--runs-dir", help="Runs folder (default: $CIFAR_TUI_RUNS or ./runs).")
