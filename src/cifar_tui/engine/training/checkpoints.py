"""Epoch checkpoints, write side: what a strategy needs to continue after a crash, a kill or a hang-up.

A save writes the new files first (each fsynced), then `state.json` through a temp file and a rename,
then deletes the files `state.json` no longer names. A crash at any moment leaves a `state.json` that
names complete files: the previous checkpoint or the new one, never half of one. (Layout and reading:
`checkpoint_files`.)

Keras' own BackupAndRestore does not keep the best epoch across a restart (keras#17012); this does: the
best validation accuracy, its epoch and its weights are part of every checkpoint.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from cifar_tui.engine.errors import CheckpointDamaged, DiskError, RunFolderGone
from cifar_tui.engine.store.atomic import atomic_write_json, make_subfolders
from cifar_tui.engine.training.checkpoint_files import (
    BACKBONE_START_FILE,
    CHECKPOINT_VERSION,
    STATE_FILE,
    Checkpoint,
    damaged_message,
    load_checkpoint,
)

__all__ = ["Checkpoint", "Checkpointer", "load_checkpoint", "optimizer_arrays", "read_arrays", "restore_optimizer",
           "restore_weights"]


def write_arrays(path: Path, arrays) -> None:
    try:
        with open(path, "wb") as f:
            np.savez(f, **{f"v{i}": np.asarray(a) for i, a in enumerate(arrays)})
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        exc.filename = exc.filename or str(path)  # the one-line error names the file
        raise


def read_arrays(path: Path) -> list[np.ndarray]:
    try:
        with np.load(path) as saved:
            return [saved[f"v{i}"] for i in range(len(saved.files))]
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, OSError, ValueError: a damaged file
        raise CheckpointDamaged(damaged_message(Path(path), exc)) from None


def restore_weights(model, path: Path) -> None:
    arrays = read_arrays(path)
    try:
        model.set_weights(arrays)
    except ValueError as exc:
        raise CheckpointDamaged(damaged_message(path, f"it does not fit this model: {exc}")) from None


def optimizer_arrays(optimizer) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v)) for v in optimizer.variables]


def restore_optimizer(model, path: Path) -> None:
    """Build the compiled model's optimizer for its trainable variables and load the saved values."""
    arrays = read_arrays(path)
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    variables = optimizer.variables
    shapes = [tuple(v.shape) for v in variables]
    if len(arrays) != len(variables) or any(a.shape != s for a, s in zip(arrays, shapes, strict=False)):
        raise CheckpointDamaged(damaged_message(path, f"it does not fit this model's optimizer ({len(arrays)} "
                                                      f"arrays for {len(variables)} variables)"))
    for variable, value in zip(variables, arrays, strict=True):
        variable.assign(value)


class Checkpointer(keras.callbacks.Callback):
    """Saves the last epoch (weights + optimizer) and the best epoch's weights at each epoch end.

    Goes after `BestEpoch` in the callback list, so it sees this epoch's verdict on "best".
    """

    def __init__(self, folder: Path, strategy: str, seed: int, best, stop_event: threading.Event,
                 previous: Checkpoint | None = None):
        super().__init__()
        self.folder, self.strategy, self.seed = Path(folder), strategy, seed
        self.best, self.stop_event = best, stop_event
        self.phase, self.learning_rate = "", math.nan
        self.last = previous
        self.emitter = None  # the phase's EventEmitter: only an epoch it recorded as whole is saved

    def start_phase(self, phase: str, learning_rate: float, emitter) -> None:
        self.phase, self.learning_rate, self.emitter = phase, learning_rate, emitter

    def on_epoch_end(self, epoch, logs=None):
        if self.emitter is None or self.emitter.completed_epoch != epoch + 1:
            return  # a cut-short epoch (a stop mid-epoch, a NaN) is not a state to continue from
        try:
            self.save(epoch + 1)
        except OSError as exc:  # a full disk, say: stop the run clearly, saying what is left to resume from
            raise self.write_failed(exc, epoch + 1) from None

    def write_failed(self, exc: OSError, epoch: int) -> DiskError:
        """The one line for a failed save: the file and why, then the checkpoint a resume can use, only
        where its state.json is really there (never "the epoch 0 checkpoint is intact": there is none)."""
        run_folder = self.folder.parent.parent
        if not run_folder.is_dir():
            return RunFolderGone.at(run_folder)
        kept = (f"the epoch {self.last.epoch} checkpoint is intact" if self.last is not None
                and (self.folder / STATE_FILE).is_file() else
                f"no {self.strategy} checkpoint was written before: a resume starts {self.strategy} from its "
                f"first epoch")
        return DiskError(f"cannot write the epoch {epoch} checkpoint {exc.filename or self.folder}: "
                         f"{exc.strerror or exc}; {kept}")

    def save(self, epoch: int) -> Checkpoint:
        # Plain arrays in uncompressed .npz files, in `model.get_weights()` order: ~15x faster to write than
        # Keras' .weights.h5 for the scratch CNN (7 ms vs 97 ms), which matters at every epoch end.
        make_subfolders(self.folder, 2)  # checkpoints/<strategy>: never the run folder, if it was deleted
        weights = f"epoch-{epoch:04d}.weights.npz"
        optimizer = f"epoch-{epoch:04d}.optimizer.npz"
        best_file = self.last.best_file if self.last else ""
        if self.best.best_epoch == epoch and self.best.best_weights is not None:  # a new best: this epoch
            best_file = f"best-{epoch:04d}.weights.npz"
        checkpoint = Checkpoint(
            strategy=self.strategy, epoch=epoch, phase=self.phase, learning_rate=float(self.learning_rate),
            best_epoch=self.best.best_epoch,
            best_val_accuracy=self.best.best_accuracy if math.isfinite(self.best.best_accuracy) else -1.0,
            seed=self.seed, weights_file=weights, optimizer_file=optimizer, best_file=best_file)
        committed = self.last.folder_files() if self.last else set()
        try:
            write_arrays(self.folder / weights, self.model.get_weights())
            write_arrays(self.folder / optimizer, optimizer_arrays(self.model.optimizer))
            if best_file not in committed and best_file:
                write_arrays(self.folder / best_file, self.best.best_weights)
            atomic_write_json(self.folder / STATE_FILE, {"version": CHECKPOINT_VERSION, **asdict(checkpoint)})
        except BaseException:
            # Never leave half-written files behind (they would hold the space a full disk needs to record
            # the failure); the previous state.json still names only complete files.
            for name in checkpoint.folder_files() - committed - {STATE_FILE}:
                (self.folder / name).unlink(missing_ok=True)
            raise
        self.last = checkpoint
        for stale in self.folder.iterdir():  # only after the commit: files the new state no longer names
            if (stale.name not in checkpoint.folder_files() | {BACKBONE_START_FILE}
                    and not stale.name.startswith(".state.json.")):
                stale.unlink(missing_ok=True)
        return checkpoint
