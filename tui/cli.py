"""`cifar-tui`: the app (no subcommand), headless runs, and the run history, as a Typer CLI.

Quick commands (`--help`, `runs list`, `runs show`) never import TensorFlow: it is imported by the engine
only when a run starts.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import typer

from engine.errors import UserError
from engine.store.paths import resolve_runs_dir

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Transfer learning vs training from scratch on CIFAR-10, live in your terminal.",
                  context_settings={"help_option_names": ["-h", "--help"]})
runs_app = typer.Typer(help="Browse the run history.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

EXIT_STRATEGY_FAILED, EXIT_BAD_INPUT = 1, 2
EXIT_BY_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}

RunsDir = typer.Option(None, "--runs-dir", help="Runs folder (default: $CIFAR_TUI_RUNS or ./runs).")
Preset = typer.Option("quick", "--preset", "-p", help="quick (CPU, minutes) or paper (GPU, full study).")
Dataset = typer.Option(None, "--dataset", help="cifar10 (default) or digits (offline demo, NOT CIFAR-10).")
DataDir = typer.Option(None, "--data-dir", help="Local CIFAR-10: batches-py folder, .tar.gz or batches-bin.")
Weights = typer.Option(None, "--weights", help="imagenet (default), none, or a path to a notop .h5 file.")
Fallback = typer.Option(False, "--offline-fallback", hidden=True,
                        help="make run only: use digits / random init when CIFAR-10 / ImageNet are missing.")


class StopRequest(threading.Event):
    """The engine's stop event, with why it was set (empty: the user cancelled)."""

    reason = ""


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(f"cifar-tui: error: {message}", err=True)
    return typer.Exit(code)


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    preset: str | None = typer.Option(None, "--preset", "-p", help="Open the app and start this preset."),
    dataset: str | None = Dataset,
    data_dir: str | None = DataDir,
    weights: str | None = Weights,
    runs_dir: Path | None = RunsDir,
    offline_fallback: bool = Fallback,
) -> None:
    """With no command: open the app (and start PRESET's study at once if given)."""
    if ctx.invoked_subcommand is not None:
        return
    from tui.flags import config_from_flags

    config = None
    try:
        if preset is not None:
            config = config_from_flags(preset=preset, dataset=dataset, data_dir=data_dir, weights=weights,
                                       offline_fallback=offline_fallback)
    except UserError as exc:
        raise fail(str(exc)) from None
    from tui.launch import launch_app

    raise typer.Exit(launch_app(resolve_runs_dir(runs_dir), start=config))


@app.command()
def run(
    preset: str = Preset,
    strategies: str | None = typer.Option(None, "--strategies", "-s", help="Comma list: scratch,frozen,finetune."),
    epochs: int | None = typer.Option(None, "--epochs", help="Epochs of each strategy (fine-tune: phase 2)."),
    head_epochs: int | None = typer.Option(None, "--head-epochs", help="Fine-tune phase 1 (head) epochs."),
    image_size: int | None = typer.Option(None, "--image-size", help="EfficientNet input size (>= 32)."),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    dataset: str | None = Dataset,
    data_dir: str | None = DataDir,
    weights: str | None = Weights,
    seed: int | None = typer.Option(None, "--seed"),
    name: str | None = typer.Option(None, "--name", help="Part of the run id: letters, digits, . _ -"),
    train_fraction: float | None = typer.Option(None, "--train-fraction", help="Stratified share, (0, 1]."),
    train_per_class: int | None = typer.Option(None, "--train-per-class"),
    test_limit: int | None = typer.Option(None, "--test-limit", help="Stratified test subset (quick runs)."),
    val_fraction: float | None = typer.Option(None, "--val-fraction"),
    finetune_lr: float | None = typer.Option(None, "--finetune-lr"),
    unfreeze_blocks: int | None = typer.Option(None, "--unfreeze-blocks", help="Top N of 7 blocks; 0 = all."),
    augment: bool | None = typer.Option(None, "--augment/--no-augment"),
    input_scaling: str | None = typer.Option(None, "--input-scaling", help="raw (right) or unit (mistake)."),
    bn_mode: str | None = typer.Option(None, "--bn-mode", help="inference (right) or train (mistake)."),
    jit: bool | None = typer.Option(None, "--jit/--no-jit", help="XLA (off by default: slower on CPU)."),
    precision: str | None = typer.Option(None, "--precision", help="auto (mixed on a GPU), float32 or mixed."),
    eager: bool | None = typer.Option(None, "--eager", hidden=True),
    tensorboard: bool | None = typer.Option(None, "--tensorboard", help="Also write TensorBoard scalars into "
                                            "the run folder (tensorboard/<strategy>)."),
    plain: bool | None = typer.Option(None, "--plain/--rich", help="Plain lines (default when not a TTY)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON at the end."),
    runs_dir: Path | None = RunsDir,
    offline_fallback: bool = Fallback,
) -> None:
    """Run the study headless, recording it in the runs folder."""
    from tui.flags import config_from_flags

    try:
        config = config_from_flags(
            preset=preset, strategies=strategies, epochs=epochs, head_epochs=head_epochs, image_size=image_size,
            batch_size=batch_size, dataset=dataset, data_dir=data_dir, weights=weights, seed=seed, name=name,
            train_fraction=train_fraction, train_per_class=train_per_class, test_limit=test_limit,
            val_fraction=val_fraction, finetune_lr=finetune_lr, unfreeze_blocks=unfreeze_blocks,
            augment=augment, input_scaling=input_scaling, bn_mode=bn_mode, jit=jit, eager=eager,
            tensorboard=tensorboard, precision=precision, offline_fallback=offline_fallback)
    except UserError as exc:
        raise fail(str(exc)) from None

    from engine.session import record_and_run
    from tui.cli_progress import progress_sink
    from tui.tables import comparison_table

    stop_event = StopRequest()
    received: list[int] = []

    def on_signal(signum, frame):  # first signal: stop at the next batch; a second Ctrl-C aborts
        received.append(signum)
        if signum != signal.SIGINT:  # Ctrl-C is the user's cancel; TERM and HUP come from outside
            stop_event.reason = f"stopped by {signal.Signals(signum).name}"
        stop_event.set()
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {s: signal.signal(s, on_signal) for s in EXIT_BY_SIGNAL}
    display = progress_sink(plain, to_stderr=json_out)  # with --json, stdout carries the JSON alone
    try:
        outcome = record_and_run(config, resolve_runs_dir(runs_dir), display=display, stop_event=stop_event)
    except UserError as exc:
        display.close()
        raise fail(str(exc), exc.exit_code) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    display.close()

    from rich.console import Console

    console = Console(stderr=json_out)
    console.print(comparison_table(outcome.summary, title=f"run {outcome.run_id} ({outcome.summary['status']})"))
    for notice in outcome.summary.get("notices", []):
        console.print(f"NOTE: {notice}", style="bold yellow", markup=False, highlight=False)
    console.print(f"recorded in {outcome.path}", markup=False, highlight=False)
    if json_out:
        typer.echo(json.dumps(outcome.summary, indent=2))
    if received:
        raise typer.Exit(EXIT_BY_SIGNAL.get(received[0], 130))
    if outcome.summary["status"] == "failed":
        raise typer.Exit(EXIT_STRATEGY_FAILED)


import tui.cli_runs  # noqa: E402,F401  (registers the `runs` and `watch` commands)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: every usage error is one line on stderr and exit code 2."""
    from typer._click.exceptions import ClickException  # Typer >= 0.26 vendors its own Click

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
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
