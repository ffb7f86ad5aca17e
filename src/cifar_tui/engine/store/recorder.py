"""The run store's writing side: a sink that records a run's events into `runs/<run-id>/`.

Layout of a run folder:
    config.json          format version and the full ExperimentConfig (written once, atomically)
    events.jsonl         every event, one JSON line each, appended and flushed as it happens
                         (batch events thinned to about one a second per strategy)
    summary.json         the folded state (RunState.summary), rewritten atomically at each milestone
    writer.json          pid, host, boot and a heartbeat every few seconds, on the wall and monotonic
                         clocks, while the writer lives (cifar_tui.engine.store.liveness reads it)
    strategies/<name>/   confusion_matrix.csv and metrics.json once the strategy is evaluated, and
                         predictions.npz (per-image predictions, the galleries' pixels)
    tensorflow.log       TensorFlow's own log lines (CLI runs)

The folder is created when the run really starts (`run_started`), so a run refused for bad input leaves
nothing behind. A folder deleted (or replaced) while its run writes it stops the run at the next event,
with one line (RunFolderGone), and nothing is written again under its name.
"""

from __future__ import annotations

import csv
import io
import math
import os
import threading
import time
from pathlib import Path

from cifar_tui.engine.errors import DiskError, RunFolderGone, StoreError
from cifar_tui.engine.run.events import (
    BatchEnd,
    Evaluated,
    Event,
    RunFinished,
    RunStarted,
    StrategyFailed,
    StrategyFinished,
    TestPredictions,
)
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.atomic import atomic_write_bytes, atomic_write_json, make_subfolders
from cifar_tui.engine.store.ids import validate_run_id
from cifar_tui.engine.store.liveness import heartbeat_record
from cifar_tui.engine.store.lock import RunLock

HEARTBEAT_S = 5.0
BATCH_EVERY_S = 1.0


class RunRecorder:
    def __init__(self, runs_dir: Path, run_id: str, heartbeat_s: float = HEARTBEAT_S,
                 batch_every_s: float = BATCH_EVERY_S):
        self.runs_dir = Path(runs_dir)
        self.run_id = validate_run_id(run_id)
        self.path = self.runs_dir / run_id
        self.created = False
        self.state = RunState()
        self._run_lock: RunLock | None = None
        self._events = None
        self._heartbeat_s, self._batch_every_s = heartbeat_s, batch_every_s
        self._last_batch: dict[str, float] = {}
        self._stop_heartbeat = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started = time.time()
        self._beats = 0
        self._identity: tuple[int, int] | None = None  # the folder's (device, inode): deleted or replaced?
        self.gone = False  # the folder was deleted under the run: nothing more is written

    @classmethod
    def reopen(cls, runs_dir: Path, run_id: str, state: RunState, **kwargs) -> RunRecorder:
        """Append to an existing run (a resume): take its lock, cut a torn last line, go on writing."""
        recorder = cls(runs_dir, run_id, **kwargs)
        recorder._run_lock = RunLock(recorder.path).acquire()
        events = recorder.path / paths.EVENTS_FILE
        try:
            recorder._identity = _identity(recorder.path)
            _cut_torn_line(events)
            recorder._events = open(events, "a", encoding="utf-8")
            recorder._write_writer(alive=True)
        except OSError as exc:
            recorder._run_lock.release()
            raise StoreError(f"cannot reopen run {run_id}: {exc.strerror or exc}") from None
        recorder.state, recorder.created = state, True
        recorder._start_heartbeat()
        return recorder

    # --- the sink ------------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted) and not self.created:
            self._create(event)
        if not self.created or self.gone:
            return
        self._check_folder()
        self.state.apply(event)
        if isinstance(event, BatchEnd) and not self._keep_batch(event):
            return
        if isinstance(event, TestPredictions) and event.arrays is not None:
            # the arrays first: the log line says they exist
            from cifar_tui.engine.store.predictions import write_predictions

            self._guard(write_predictions, self.path, event.strategy, event.arrays)
        if isinstance(event, RunFinished):
            self._finish(event)
            return
        self._guard(self._append, event)
        if isinstance(event, Evaluated):
            self._guard(self._write_strategy_files, event)
        if isinstance(event, (RunStarted, StrategyFinished, StrategyFailed)):
            self._guard(atomic_write_json, self.path / paths.SUMMARY_FILE, self._summary())

    def _finish(self, event: RunFinished) -> None:
        """The last record. The summary is what `runs list` shows, so it is written even when the log line
        cannot be (a full disk): a run must never stay `running` because its end could not be logged."""
        failure: OSError | None = None
        for write in (lambda: self._append(event),
                      lambda: atomic_write_json(self.path / paths.SUMMARY_FILE, self._summary())):
            try:
                write()
            except OSError as exc:
                failure = failure or exc
        self.close()
        if failure is not None:
            raise self._disk_error(failure)

    def close(self) -> None:
        self._stop_heartbeat.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(timeout=2)
        with self._lock:
            if self._events is not None:
                try:
                    self._events.close()
                except OSError:
                    pass
                self._events = None
        if self.created and not self.gone:
            try:
                self._write_writer(alive=False)
            except OSError:
                pass
        if self._run_lock is not None:
            self._run_lock.release()
            self._run_lock = None

    # --- internals ------------------------------------------------------------------------------------
    def _keep_batch(self, event: BatchEnd) -> bool:
        now = time.monotonic()
        # The first batch of a strategy is always kept (it shows the run is moving), then ~1/s and each
        # epoch's last batch.
        if event.step == event.steps or now - self._last_batch.get(event.strategy, -math.inf) >= self._batch_every_s:
            self._last_batch[event.strategy] = now
            return True
        return False

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except OSError as exc:
            raise self._disk_error(exc) from None

    def _disk_error(self, exc: OSError) -> DiskError:
        where = exc.filename or self.path
        return DiskError(f"cannot write {where} (run {self.run_id}): {exc.strerror or exc}")

    def _create(self, event: RunStarted) -> None:
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()
            self._identity = _identity(self.path)
            self._run_lock = RunLock(self.path).acquire()
            atomic_write_json(self.path / paths.CONFIG_FILE,
                              {"format_version": paths.FORMAT_VERSION, "run_id": self.run_id, "config": event.config})
            self._events = open(self.path / paths.EVENTS_FILE, "a", encoding="utf-8")
            self._write_writer(alive=True)
        except FileExistsError:
            raise StoreError(f"run folder {self.path} already exists; refusing to write into another run") from None
        except OSError as exc:
            raise StoreError(f"cannot create run folder in {self.runs_dir}: {exc.strerror or exc}") from None
        self.created = True
        self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        self._heartbeat_thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.run_id}", daemon=True)
        self._heartbeat_thread.start()

    def _append(self, event: Event) -> None:
        with self._lock:
            if self._events is None:
                return
            try:
                self._events.write(event.to_json() + "\n")
                self._events.flush()
                if not isinstance(event, BatchEnd):
                    os.fsync(self._events.fileno())
            except OSError as exc:
                exc.filename = exc.filename or str(self.path / paths.EVENTS_FILE)
                raise

    def _summary(self) -> dict:
        return {"format_version": paths.FORMAT_VERSION, **self.state.summary()}

    def _check_folder(self) -> None:
        """Raise RunFolderGone once the run's folder is no longer the one this recorder made (deleted, or
        another in its place): every later write would make a partial folder that reads as a run."""
        if self._identity is not None and not self.gone:
            try:
                same = _identity(self.path) == self._identity
            except OSError:
                same = False
            if not same:
                self.gone = True
        if self.gone:
            raise RunFolderGone.at(self.path)

    def _write_writer(self, alive: bool) -> None:
        self._beats += 1
        atomic_write_json(self.path / paths.WRITER_FILE, heartbeat_record(self._started, alive, self._beats))

    def _beat(self) -> None:
        while not self._stop_heartbeat.wait(self._heartbeat_s):
            try:
                self._check_folder()
                self._write_writer(alive=True)
            except OSError:
                pass  # the next event's write reports a full or vanished disk
            except RunFolderGone:
                return  # the next event stops the run

    def _write_strategy_files(self, event: Evaluated) -> None:
        folder = self.path / "strategies" / event.strategy
        make_subfolders(folder, 2)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["true \\ predicted", *event.class_names])
        for name, row in zip(event.class_names, event.confusion_matrix, strict=True):
            writer.writerow([name, *row])
        atomic_write_bytes(folder / "confusion_matrix.csv", text.getvalue().encode())
        metrics = {k: v for k, v in event.to_dict().items() if k not in ("type", "confusion_matrix")}
        atomic_write_json(folder / "metrics.json", metrics)


def _identity(folder: Path) -> tuple[int, int]:
    stat = os.stat(folder)
    return stat.st_dev, stat.st_ino


def _cut_torn_line(path: Path) -> None:
    """A crash can leave a last line without its newline; appending after it would glue two events."""
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(max(0, size - 1))
        if f.read(1) == b"\n":
            return
        # Find the last newline: everything after it is the torn fragment (never a whole event).
        chunk = 1 << 16
        end = size
        while end > 0:
            start = max(0, end - chunk)
            f.seek(start)
            block = f.read(end - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                f.truncate(start + cut + 1)
                return
            end = start
        f.truncate(0)
