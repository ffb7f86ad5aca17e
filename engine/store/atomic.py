"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
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
