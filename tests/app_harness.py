"""Scripted engines for pilot tests: the app gets events exactly as from the real engine (posted from a
worker thread), without TensorFlow."""

from __future__ import annotations

import threading

from events_factory import full_run

from cifar_tui.engine.errors import DataError
from cifar_tui.engine.run import events as ev


class ManualEngine:
    """Blocks in the worker until cancelled; the test pushes events through `sink` when it wants."""

    def __init__(self) -> None:
        self.configs = []
        self.sink = None
        self.run_id = ""
        self.stop_event: threading.Event | None = None
        self.started = threading.Event()

    def __call__(self, config, runs_dir, sink, stop_event, run_id) -> None:
        self.configs.append(config)
        self.sink, self.stop_event, self.run_id = sink, stop_event, run_id
        self.started.set()
        stop_event.wait(timeout=60)
        sink(ev.RunFinished(status="cancelled", seconds=1.0))

    def send(self, events) -> None:
        for e in events:
            if isinstance(e, ev.RunStarted):
                e.run_id = self.run_id
            self.sink(e)


class ScriptedEngine:
    """Plays a whole run's events at once (or a given list), like a very fast real engine."""

    def __init__(self, events=None) -> None:
        self.events = events
        self.configs = []

    def __call__(self, config, runs_dir, sink, stop_event, run_id) -> None:
        self.configs.append(config)
        for e in self.events or full_run(run_id):
            if isinstance(e, ev.RunStarted):
                e.run_id = run_id
            sink(e)


class BatchesUntilStopped:
    """Sends batch events until the stop event is set, then finishes as the engine does."""

    def __init__(self) -> None:
        self.batches_sent = 0
        self.stopped = threading.Event()

    def __call__(self, config, runs_dir, sink, stop_event, run_id) -> None:
        from events_factory import run_started

        sink(run_started(run_id, strategies=("scratch",)))
        sink(ev.StrategyStarted(strategy="scratch", image_size=32, epochs=5, steps_per_epoch=10_000,
                                total_params=10, weights="random"))
        step = 0
        while not stop_event.is_set() and step < 200_000:
            step += 1
            self.batches_sent += 1
            sink(ev.BatchEnd(strategy="scratch", phase="train", epoch=1, step=step, steps=10_000, loss=1.0,
                             accuracy=0.5, images_per_s=1000.0))
            stop_event.wait(0.001)
        self.stopped.set()
        sink(ev.StrategyFinished(strategy="scratch", status="cancelled", seconds=1.0, trainable_params=10,
                                 total_params=10))
        sink(ev.RunFinished(status="cancelled", seconds=1.0))


class FailingEngine:
    def __init__(self) -> None:
        self.configs = []

    def __call__(self, config, runs_dir, sink, stop_event, run_id) -> None:
        self.configs.append(config)
        if config.dataset == "cifar10":
            raise DataError("CIFAR-10 is not in /nowhere and the download failed (offline); fix: --data-dir")
        ScriptedEngine()(config, runs_dir, sink, stop_event, run_id)
