"""Errors a user can act on.

Everything the engine raises on purpose derives from `UserError`: the CLI prints its message as one line
and exits with code 2, the app shows it in plain words. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or environment, with a message that says how to fix it."""

    exit_code = 2


class ConfigError(UserError):
    """An invalid configuration value (flag, preset, TOML)."""


class DataError(UserError):
    """The data set cannot be found, read or trusted."""


class WeightsError(UserError):
    """Pretrained weights cannot be had, or the file is not an EfficientNetB0 notop weights file."""


class InputsMissing(UserError):
    """Neither the data set nor the pretrained weights can be had (offline, say): one error naming both, so
    the app offers one way out instead of a second dialog after the first is answered. `reasons`: the
    DataError's and the WeightsError's lines."""

    def __init__(self, data: DataError, weights: WeightsError):
        self.reasons = [str(data), str(weights)]
        super().__init__(f"{data}; and {weights}")


class StoreError(UserError):
    """The runs folder cannot be written or a run cannot be read."""


class DiskError(StoreError):
    """A write failed after the run started (a full disk, an unplugged drive): the run is recorded as failed
    if anything can still be written, its last committed checkpoint is intact, and it can be resumed once
    the disk is fixed. Exit code 74 (EX_IOERR in sysexits.h): 2 means bad input with nothing written."""

    exit_code = 74


class RunFolderGone(DiskError):
    """The run's folder was deleted (or replaced) while the run was writing it: the run stops, and nothing
    more is written, so no partial folder is made again under its name (issue #26). Exit code 74."""

    @classmethod
    def at(cls, folder) -> RunFolderGone:
        return cls(f"run folder {folder} was deleted while this run was writing it; the run stopped, "
                   f"and nothing more is written")


class OutOfMemory(UserError):
    """The run ran out of memory before any strategy could start (preparing its data); the line says what
    to make smaller. Exit code 1, as a strategy that failed: the input was valid, the machine too small. A
    strategy that runs out of memory fails alone and the run goes on (cifar_tui.engine.run.failures)."""

    exit_code = 1


class CheckpointDamaged(UserError):
    """A checkpoint file of a stopped run cannot be read (truncated, overwritten): the resume is refused,
    naming the file and the remedy (delete the strategy's checkpoint folder to restart it from epoch 1)."""
