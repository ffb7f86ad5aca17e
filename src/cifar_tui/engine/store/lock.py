"""One writer per run: an exclusive `flock` on `runs/<id>/.lock`, held for as long as a process writes.

The kernel drops the lock when its holder dies (even by `kill -9`), so a crashed writer never leaves a run
locked. On this host the lock is the truth about a live writer (cifar_tui.engine.store.liveness); the heartbeat in
writer.json covers what a lock cannot see (another host on a network disk).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from cifar_tui.engine.errors import StoreError

LOCK_FILE = ".lock"


class RunLock:
    def __init__(self, run_dir: Path, what: str = "run"):
        self.path = Path(run_dir) / LOCK_FILE
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _take(fd):
            holder = _holder(fd)
            os.close(fd)
            raise StoreError(f"{self.what} {self.path.parent.name} is being written by another process"
                             f"{holder}; two writers never share a {self.what}")
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid()}).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


def _take(fd: int, tries: int = 5) -> bool:
    """The exclusive lock, or False when another process holds it. A reader's `is_locked` holds a shared
    lock for a moment: a few short retries keep that moment from refusing a writer."""
    for attempt in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < tries:
                time.sleep(0.02)
    return False


def _holder(fd: int) -> str:
    try:
        pid = json.loads(os.pread(fd, 200, 0) or b"{}").get("pid")
    except (OSError, ValueError, AttributeError):
        return ""
    return f" (pid {pid})" if pid else ""


def is_locked(run_dir: Path) -> bool:
    """Does a live process hold this run's lock? (False when there is no lock file.)"""
    try:
        fd = os.open(Path(run_dir) / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
