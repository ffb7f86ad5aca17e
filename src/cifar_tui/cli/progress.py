"""How a headless run shows itself: a Rich progress display on a terminal, plain lines otherwise.

Both are sinks of the engine's event stream. Plain mode prints one line per epoch (and per milestone),
which reads well in `nohup` logs and CI; it never prints per batch.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

import cifar_tui.engine.run.events as ev
from cifar_tui.engine.runtime.backend import DEFAULT_BACKEND
from cifar_tui.render.tables import duration, rate


def fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def epoch_line(e: ev.EpochEnd) -> str:
    return (f"{e.strategy:<9} {e.phase:<8} epoch {e.epoch}/{e.epochs}  loss {fmt(e.loss)}  acc {fmt(e.accuracy)}  "
            f"val_loss {fmt(e.val_loss)}  val_acc {fmt(e.val_accuracy)}  lr {rate(e.learning_rate)}  "
            f"{e.seconds:.1f}s  {e.images_per_s:.0f} img/s")


def milestone_line(e: ev.Event) -> str | None:
    """A line for every event worth a line in a log; None for those that are not."""
    if isinstance(e, ev.RunStarted):
        d, w = e.dataset, e.weights
        return (f"run {e.run_id}: dataset {d.get('name')} ({d.get('train')} train / {d.get('val')} val / "
                f"{d.get('test')} test) from {d.get('source')}; augmentation {e.config.get('augment', '-')}; "
                f"weights: {w.get('label')}; "
                f"device {e.environment.get('device')} ({e.environment.get('precision', 'float32')}, "
                f"{e.environment.get('backend', e.config.get('backend', DEFAULT_BACKEND))})")
    if isinstance(e, ev.RunResumed):
        where = [f"{n} after epoch {k}" if k else f"{n} from the start" for n, k in e.from_epochs.items()]
        where += [f"{n} finished before" for n in e.skipped]
        return (f"run {e.run_id} resumed: {', '.join(where) or 'nothing left'}; "
                f"device {e.environment.get('device')} ({e.environment.get('precision', 'float32')}, "
                f"{e.environment.get('backend', DEFAULT_BACKEND)})")
    if isinstance(e, ev.StrategyStarted):
        return (f"{e.strategy:<9} started: {e.image_size}px, {e.epochs} epochs x {e.steps_per_epoch} steps, "
                f"{e.total_params:,} params, {e.weights}")
    if isinstance(e, ev.PhaseStarted) and e.phase != "train":
        return f"{e.strategy:<9} phase {e.phase}: lr {e.learning_rate:g}, {e.trainable_params:,} trainable params"
    if isinstance(e, ev.EpochEnd):
        return epoch_line(e)
    if isinstance(e, ev.Evaluated):
        return (f"{e.strategy:<9} test accuracy {e.test_accuracy:.4f} (best val {e.best_val_accuracy:.4f} "
                f"at epoch {e.best_epoch})")
    if isinstance(e, ev.StrategyFailed):
        return f"{e.strategy:<9} FAILED: {e.error}"
    if isinstance(e, ev.StrategyFinished) and e.status != "finished":
        return f"{e.strategy:<9} {e.status}"
    if isinstance(e, ev.LogMessage) and e.level != "info":
        if e.level == "error" and "Traceback (most recent call last)" in e.message:
            return None  # a strategy's traceback, for the log: its `FAILED:` line comes next, in one line
        return f"{e.level.upper()}: {e.message.splitlines()[-1] if e.level == 'error' else e.message}"
    if isinstance(e, ev.RunFinished):
        return f"run {e.status} in {duration(e.seconds)}" + (f": {e.error}" if e.error else "")  # as runs list
    return None


def report_download(event: ev.Event) -> bool:
    """Download progress (a `progress` log line) goes to stderr, even before the run starts: with --json
    stdout carries the JSON alone, and a 170 MB download must not look like a hang."""
    if isinstance(event, ev.LogMessage) and event.level == "progress":
        print(event.message, file=sys.stderr, flush=True)
        return True
    return False


class PlainProgress:
    """One line per epoch and milestone, flushed, for logs and batch jobs."""

    def __init__(self, out: TextIO | None = None, to_stderr: bool = False):
        self._out, self.to_stderr = out, to_stderr
        self.started = False

    @property
    def out(self) -> TextIO:
        # Looked up at each line: during a run fd 2 goes to tensorflow.log and sys.stderr is the terminal.
        return self._out or (sys.stderr if self.to_stderr else sys.stdout)

    def __call__(self, event: ev.Event) -> None:
        self.started = self.started or isinstance(event, (ev.RunStarted, ev.RunResumed))  # resume: no RunStarted
        if report_download(event) or not self.started:
            return  # a run refused before it started: the CLI prints the one-line error
        line = milestone_line(event)
        if line is not None:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        pass


class RichProgress:
    """A live progress bar per strategy, with epoch lines printed above it."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console()
        self.progress = Progress(
            TextColumn("[bold]{task.fields[strategy]:<9}"), TextColumn("{task.fields[phase]:<8}"),
            TextColumn("epoch {task.fields[epoch]}"), BarColumn(), TextColumn("{task.fields[stats]}"),
            # transient: the bars go when the run ends (its epoch lines above stay); left on screen, their last
            # frame came after the run's own last lines, and at 80 columns a bar twice
            TimeElapsedColumn(), console=self.console, transient=True, refresh_per_second=4,
        )
        self.tasks: dict[str, TaskID] = {}
        self.epochs: dict[str, int] = {}
        self.done: dict[str, int] = {}  # a resumed run's epochs already done per strategy (its checkpoints)
        self.started = False
        self.progress.start()

    def __call__(self, event: ev.Event) -> None:
        self.started = self.started or isinstance(event, (ev.RunStarted, ev.RunResumed))  # resume: no RunStarted
        if report_download(event) or not self.started:
            return
        if isinstance(event, ev.RunFinished):
            self.close()  # first: the bars' last frame, drawn when it stops, went below the run's last line
        line = milestone_line(event)
        if line is not None and not isinstance(event, ev.StrategyStarted):
            self.progress.console.print(line, highlight=False, markup=False)
        if isinstance(event, ev.RunResumed):
            self.done = dict(event.from_epochs)
        elif isinstance(event, ev.StrategyStarted):
            self.epochs[event.strategy] = event.epochs
            first = min(self.done.get(event.strategy, 0) + 1, event.epochs)  # a resumed strategy's next epoch
            self.tasks[event.strategy] = self.progress.add_task(
                "", total=event.steps_per_epoch, strategy=event.strategy, phase="", epoch=f"{first}/{event.epochs}",
                stats="starting")
        elif isinstance(event, ev.BatchEnd) and event.strategy in self.tasks:
            self.progress.update(
                self.tasks[event.strategy], completed=event.step, total=event.steps, phase=event.phase,
                epoch=f"{event.epoch}/{self.epochs.get(event.strategy, '?')}",
                stats=f"loss {fmt(event.loss)} acc {fmt(event.accuracy)} {event.images_per_s:.0f} img/s")

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the terminal gone (EIO): the display ends, nothing to show it on
            self.progress.stop()


def progress_sink(plain: bool | None = None, to_stderr: bool = False):
    """Rich on a terminal, plain lines otherwise (or when asked); on stderr when stdout carries data."""
    stream = sys.stderr if to_stderr else sys.stdout
    if plain is None:
        from cifar_tui.render.terminal import can_redraw

        plain = not can_redraw(stream)
    return PlainProgress(to_stderr=to_stderr) if plain else RichProgress(Console(stderr=to_stderr))
