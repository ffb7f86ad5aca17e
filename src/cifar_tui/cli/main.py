"""`cifar-tui`: the app (no subcommand), headless runs, and the run history, as a Typer CLI.

Quick commands (`--help`, `runs list`, `runs show`) never import TensorFlow: it is imported by the engine
only when a run starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from cifar_tui.cli.flags import config_from_options, given_options, with_run_options
from cifar_tui.cli.headless import INTERRUPTED, execute, fail, run_headless, watch_interrupts
from cifar_tui.cli.typer_apps import RunsDir, app
from cifar_tui.engine.errors import UserError
from cifar_tui.engine.store.paths import resolve_runs_dir

__all__ = ["app", "main"]


@app.callback(invoke_without_command=True)
@with_run_options
def main_callback(ctx: typer.Context, runs_dir: Path | None = RunsDir, run_options: dict | None = None) -> None:
    """With no command: open the app. Any run option (the same as `cifar-tui run`'s) starts that run at once."""
    if ctx.invoked_subcommand is not None:
        given = [f"--{name.replace('_', '-')}" for name in given_options(run_options or {})]
        given += ["--runs-dir"] if runs_dir is not None else []
        if given:  # Click would parse them here and the command would never see them: say so, train nothing
            raise fail(f"{', '.join(given)} given before the command: put {'it' if len(given) == 1 else 'them'} "
                       f"after it (cifar-tui {ctx.invoked_subcommand} {' '.join(given)} ...)")
        return
    config = None
    if given_options(run_options or {}):
        try:
            config = config_from_options(run_options or {})
        except UserError as exc:
            raise fail(str(exc)) from None
    from cifar_tui.cli.launch import launch_app

    raise typer.Exit(launch_app(resolve_runs_dir(runs_dir), start=config))


@app.command()
@with_run_options
def run(
    plain: bool | None = typer.Option(None, "--plain/--rich", help="Plain lines (default when not a TTY)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON at the end."),
    runs_dir: Path | None = RunsDir,
    run_options: dict | None = None,
) -> None:
    """Train and test the strategies headless, recording the run in the runs folder."""
    try:
        config = config_from_options(run_options or {})
    except UserError as exc:
        raise fail(str(exc)) from None
    run_headless(config, resolve_runs_dir(runs_dir), plain, json_out)


@app.command()
def resume(
    run_ref: str = typer.Argument(..., metavar="RUN", help="Run id (or a unique part of it, or 'latest')."),
    plain: bool | None = typer.Option(None, "--plain/--rich", help="Plain lines (default when not a TTY)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON at the end."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Continue a cancelled or interrupted run from its last epoch checkpoint, in the same folder."""
    from cifar_tui.engine.run.resume import NothingToResume, close_ended_run, plan_resume
    from cifar_tui.engine.run.session import resume_and_run

    folder = resolve_runs_dir(runs_dir)
    try:
        plan = plan_resume(folder, run_ref)
    except NothingToResume as exc:  # stopped after its last strategy: closed as finished, not left stopped
        try:
            typer.echo(close_ended_run(exc.plan))
        except UserError as closing:
            raise fail(str(closing), closing.exit_code) from None
        return
    except UserError as exc:
        raise fail(str(exc), exc.exit_code) from None
    execute(lambda display, stop_event: resume_and_run(folder, plan.run_id, display=display,
                                                       stop_event=stop_event, plan=plan), plain, json_out)


# After this module's own commands, so that `--help` lists run and resume first.
import cifar_tui.cli.cache  # noqa: E402,F401  (registers `cache list|clear`)
import cifar_tui.cli.runs  # noqa: E402,F401  (registers the `runs` and `watch` commands)
import cifar_tui.cli.study  # noqa: E402,F401  (registers `study` and `studies`)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: every usage error is one line on stderr and exit code 2."""
    from typer._click.exceptions import ClickException  # Typer >= 0.26 vendors its own Click

    from cifar_tui.render.terminal import ensure_standard_streams, make_output_safe

    ensure_standard_streams()  # `<&-`: a closed stdin reads as an empty one, never a traceback
    make_output_safe()  # an ASCII-only locale: stand-ins for "…" and "±", never a UnicodeEncodeError
    watch_interrupts()  # Ctrl-C: one line and exit 130, also when a library swallowed it
    try:
        code = app(args=argv, standalone_mode=False)
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"cifar-tui: error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("cifar-tui: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `cifar-tui ... | head`: the reader left; the run (if any) is recorded whole
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail again
        sys.exit(1)  # as Rich exits on a broken pipe (Console.on_broken_pipe)
    if code == 130 and INTERRUPTED.is_set():  # Typer turns a KeyboardInterrupt into exit 130, saying nothing
        typer.echo("cifar-tui: interrupted", err=True)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    # `python -m cifar_tui.cli.main` runs this file as `__main__`, a second copy of the module: its `run` and `resume`
    # would register a second time on `cifar_tui.cli.typer_apps`'s app,
    # so `cifar_tui.cli.main`'s own `main` is the one called.
    from cifar_tui.cli.main import main as cli_main

    cli_main()
