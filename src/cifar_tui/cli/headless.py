"""Headless execution shared by `run`, `resume` and `study`: signals, progress lines, the closing table.

The first SIGINT cancels at the next batch (a second one aborts); SIGTERM and SIGHUP (an SSH hang-up)
stop at the next batch too and record the run as interrupted, with the signal as the reason. The last
epoch checkpoint is already on disk by then, so `cifar-tui resume` continues from it.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import typer

from cifar_tui.engine.store.paths import resume_command

EXIT_STRATEGY_FAILED, EXIT_BAD_INPUT = 1, 2  # and 74 (cifar_tui.engine.errors.DiskError): a write failed mid-run
EXIT_BY_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


INTERRUPTED = threading.Event()  # a Ctrl-C came (SIGINT), even one a library swallowed


def watch_interrupts() -> None:
    """Ctrl-C raises KeyboardInterrupt as ever, and is remembered: one raised inside a finalizer is printed as
    "Exception ignored ... KeyboardInterrupt" and swallowed, and the command went on and exited 0; now that
    message is not printed, and a report being written is dropped (cifar_tui.engine.store.atomic.report_folder).
    A SIGINT ignored from the start (a background job of a script) stays ignored."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return

    def interrupt(signum, frame):
        INTERRUPTED.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    previous = sys.unraisablehook

    def quiet(unraisable) -> None:
        if not issubclass(unraisable.exc_type, KeyboardInterrupt):
            previous(unraisable)

    sys.unraisablehook = quiet


class StopRequest(threading.Event):
    """The engine's stop event, with why it was set (empty: the user cancelled)."""

    reason = ""


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(f"cifar-tui: error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def stop_on_signals():
    """Yields (stop_event, received signals) with handlers installed for the block's duration."""
    stop_event = StopRequest()
    received: list[int] = []

    def on_signal(signum, frame):  # first signal: stop at the next batch; a second Ctrl-C aborts
        received.append(signum)
        if signum != signal.SIGINT:  # Ctrl-C is the user's cancel; TERM and HUP come from outside
            stop_event.reason = f"stopped by {signal.Signals(signum).name}"
        stop_event.set()
        if signum == signal.SIGINT:  # the next one aborts (KeyboardInterrupt), as before this run
            signal.signal(signal.SIGINT, previous.get(signal.SIGINT) if callable(previous.get(signal.SIGINT))
                          else signal.default_int_handler)

    previous = {s: signal.signal(s, on_signal) for s in EXIT_BY_SIGNAL}
    try:
        yield stop_event, received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def execute(start: Callable, plain: bool | None, json_out: bool) -> None:
    """Run `start(display, stop_event) -> RunOutcome` headless; print the table; exit with its code."""
    from cifar_tui.cli.progress import progress_sink
    from cifar_tui.engine.errors import UserError

    display = progress_sink(plain, to_stderr=json_out)  # with --json, stdout carries the JSON alone
    with stop_on_signals() as (stop_event, received):
        try:
            outcome = start(display, stop_event)
        except UserError as exc:
            display.close()
            raise fail(str(exc), exc.exit_code) from None
    display.close()
    try:
        print_outcome(outcome, json_out)
    except BrokenPipeError:
        raise  # `| head`: main() ends quietly
    except OSError:  # the terminal gone (EIO): the run is recorded, the exit code still says how it ended
        pass
    for name, strategy in outcome.summary.get("strategies", {}).items():
        if strategy.get("status") == "failed":  # on stderr too: a script sees why without parsing the table
            typer.echo(f"cifar-tui: {name} failed: {strategy.get('error') or 'see the run log'}", err=True)
    if received and outcome.summary["status"] in ("cancelled", "interrupted"):
        raise typer.Exit(EXIT_BY_SIGNAL.get(received[0], 130))
    if received:  # it came after every strategy had ended: the run is recorded as it ended, and exits so
        typer.echo(f"cifar-tui: {signal.Signals(received[0]).name} came after every strategy had ended; "
                   f"the run is {outcome.summary['status']}", err=True)
    if outcome.summary["status"] == "failed":
        raise typer.Exit(EXIT_STRATEGY_FAILED)


def run_headless(config, runs_dir, plain: bool | None, json_out: bool) -> None:
    """Record and run `config` with progress lines and the closing table (also the app's no-terminal path)."""
    from cifar_tui.engine.run.session import record_and_run

    execute(lambda display, stop_event: record_and_run(config, runs_dir, display=display, stop_event=stop_event),
            plain, json_out)


def print_outcome(outcome, json_out: bool) -> None:
    """The comparison, the notices, then the verdict: the last lines a headless run leaves on the terminal."""
    from rich.console import Console

    from cifar_tui.engine.verdict.run import run_verdict
    from cifar_tui.render.tables import comparison_table, print_verdict

    console = Console(stderr=json_out)
    console.print(comparison_table(outcome.summary, title=f"run {outcome.run_id} ({outcome.summary['status']})"))
    for notice in outcome.summary.get("notices", []):
        console.print(f"NOTE: {notice}", style="bold yellow", markup=False, highlight=False)
    verdict = run_verdict(outcome.summary, outcome.path)
    console.print(f"recorded in {outcome.path}", markup=False, highlight=False)
    print_verdict(console, verdict)
    if outcome.summary["status"] in ("cancelled", "interrupted"):
        console.print(f"continue it with: {resume_command(outcome.run_id, Path(outcome.path).parent)}",
                      markup=False, highlight=False, soft_wrap=True)  # one line: pasted whole
    if json_out:
        typer.echo(json.dumps({**outcome.summary, "verdict": verdict.to_dict()}, indent=2))
