"""Crash-safe file writes: a reader sees the old file or the new one, never half of one; a report folder is
whole or absent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # so the one-line error names the file (a write error names none)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2, allow_nan=False, default=str) + "\n").encode())


def make_subfolders(path: Path, depth: int) -> None:
    """Create `path` and its `depth - 1` nearest parents, never anything above them: a run's
    `checkpoints/<strategy>` made with depth 2 fails (FileNotFoundError) once the run folder itself has been
    deleted, instead of making a partial run folder again (issue #26)."""
    for folder in reversed([Path(path), *Path(path).parents][:depth]):
        folder.mkdir(exist_ok=True)


@contextmanager
def report_folder(target: Path, interrupted: threading.Event | None = None) -> Iterator[Path]:
    """A report is whole or absent: yields a temporary folder beside `target` to write into; once the block
    ends well its files land in `target` (a new folder: one rename; an existing one: file by file, each
    replaced) with SIGINT, SIGTERM and SIGHUP held for that moment. On an error, a Ctrl-C, or a Ctrl-C that
    a library swallowed meanwhile (`interrupted` set: "Exception ignored ... KeyboardInterrupt"), the
    temporary folder is removed, `target` is left as it was, and KeyboardInterrupt or the error is raised."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield temporary
        if interrupted is not None and interrupted.is_set():
            raise KeyboardInterrupt
        held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
        try:
            _move_in(temporary, target)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _move_in(temporary: Path, target: Path) -> None:
    if not target.exists():
        os.rename(temporary, target)
        return
    for item in temporary.iterdir():
        if item.is_dir() and (target / item.name).is_dir():
            shutil.rmtree(target / item.name)
        os.replace(item, target / item.name)
