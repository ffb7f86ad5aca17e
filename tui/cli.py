"""`cifar-tui`: the app (no subcommand), headless runs, and the run history, as a Typer CLI.

Quick commands (`--help`, `runs list`, `runs show`) never import TensorFlow: it is imported by the engine
only when a run starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from engine.errors import UserError
from engine.store.paths import resolve_runs_dir
from tui.cli_headless import execute, fail

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Transfer learning vs training from scratch on CIFAR-10, live in your terminal.",
                  context_settings={"help_option_names": ["-h", "--help"]})
runs_app = typer.Typer(help="Browse the run history.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


RunsDir = typer.Option(None, "--runs-dir", help="Runs folder (default: $CIFAR_TUI_RUNS or ./runs).")
Preset = typer.Option("quick", "--preset", "-p", help="quick (CPU, minutes) or paper (GPU, full study).")
Dataset = typer.Option(None, "--dataset", help="cifar10 (default) or digits (offline demo, NOT CIFAR-10).")
DataDir = typer.Option(None, "--data-dir", help="Local CIFAR-10: batches-py folder, .tar.gz or batches-bin.")
Weights = typer.Option(None, "--weights", help="imagenet (default), none, or a path to a notop .h5 file.")
Fallback = typer.Option(False, "--offline-fallback", hidden=True,
                        help="make run only: use digits / random init when CIFAR-10 / ImageNet are missing.")


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
    select_on: str | None = typer.Option(None, "--select-on", help="val (right) or test (the leak, mistake)."),
    scratch_model: str | None = typer.Option(None, "--scratch-model", help="cnn (ours) or notebook (Flatten)."),
    scratch_image_size: int | None = typer.Option(None, "--scratch-image-size", help="Scratch CNN input size."),
    checkpoints: bool | None = typer.Option(None, "--checkpoints/--no-checkpoints",
                                            help="Keep last/best epoch checkpoints for resume (default on)."),
    jit: bool | None = typer.Option(None, "--jit/--no-jit", help="XLA (off by default: slower on CPU)."),
    precision: str | None = typer.Option(None, "--precision", help="auto (mixed on a GPU), float32 or mixed."),
    gpus: str | None = typer.Option(None, "--gpus", help="all or 0,1,...: MirroredStrategy (batch per replica)."),
    scale_lr: bool | None = typer.Option(None, "--scale-lr/--no-scale-lr", help="With N replicas, learning "
                                         "rates x N (default on)."),
    steps_per_execution: int | None = typer.Option(None, "--steps-per-execution", help="Batches per compiled "
                                                   "call (small models on GPUs)."),
    frozen_features: str | None = typer.Option(None, "--frozen-features", help="cached (default: the frozen "
                                               "backbone's features extracted once, flips kept, translation "
                                               "dropped) or live (backbone on every augmented batch)."),
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
            tensorboard=tensorboard, precision=precision, offline_fallback=offline_fallback, select_on=select_on,
            scratch_model=scratch_model, scratch_image_size=scratch_image_size, checkpoints=checkpoints, gpus=gpus,
            scale_lr=scale_lr, steps_per_execution=steps_per_execution, frozen_features=frozen_features)
    except UserError as exc:
        raise fail(str(exc)) from None

    from engine.session import record_and_run

    execute(lambda display, stop_event: record_and_run(config, resolve_runs_dir(runs_dir), display=display,
                                                       stop_event=stop_event), plain, json_out)


@app.command()
def resume(
    run_ref: str = typer.Argument(..., metavar="RUN", help="Run id (or a unique part of it, or 'latest')."),
    plain: bool | None = typer.Option(None, "--plain/--rich", help="Plain lines (default when not a TTY)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON at the end."),
    runs_dir: Path | None = RunsDir,
) -> None:
    """Continue a cancelled or interrupted run from its last epoch checkpoint, in the same folder."""
    from engine.resume import plan_resume
    from engine.session import resume_and_run

    folder = resolve_runs_dir(runs_dir)
    try:
        plan = plan_resume(folder, run_ref)
    except UserError as exc:
        raise fail(str(exc), exc.exit_code) from None
    execute(lambda display, stop_event: resume_and_run(folder, plan.run_id, display=display,
                                                       stop_event=stop_event, plan=plan), plain, json_out)


import tui.cli_cache  # noqa: E402,F401  (registers `cache list|clear`)
import tui.cli_runs  # noqa: E402,F401  (registers the `runs` and `watch` commands)
import tui.cli_study  # noqa: E402,F401  (registers `study` and `studies`)


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
