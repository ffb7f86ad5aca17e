"""Is a process still writing this run? The run's lock first, the heartbeat only for writers elsewhere.

A writer holds an exclusive `flock` on `runs/<id>/.lock` for as long as it writes (cifar_tui.engine.store.lock), and
the kernel drops it when the writer dies, even by `kill -9`. On this host that lock is the truth: a writer
stopped by Ctrl-Z or `kill -STOP`, or busy in a long graph build, still holds it and is alive (running and
quiet: "no heartbeat for 35 s"), and a run whose lock nobody holds has no writer here, whatever its
heartbeat says (issue #26). A writer on another host (a shared network disk, where the lock may not be
seen) is judged by its heartbeat in `writer.json`, compared on the clocks that wrote it, never on the
reader's clock against the writer's:
- on this host (same host name and boot): the writer's `monotonic` stamp against this machine's monotonic
  clock, the same clock, which no wall-clock step moves;
- elsewhere: `writer.json`'s modification time against the time the same filesystem stamps on a fresh
  probe file in the run folder (created and removed at once), both stamped by the file server's clock;
  only where no probe can be written (a read-only mount) is the reader's own clock used.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.store import paths
from cifar_tui.engine.store.lock import LOCK_FILE, is_locked

STALE_AFTER_S = 30.0  # a writer silent this long is quiet (lock held) or gone (no lock seen)


@dataclass(frozen=True)
class Writer:
    """What a reader can tell of a run's writer. `quiet_s`: seconds since its last heartbeat (None when
    unknown), `here`: it runs on this host (its lock is then the truth about it)."""

    alive: bool
    quiet_s: float | None = None
    pid: int | None = None
    here: bool = False

    @property
    def quiet(self) -> bool:
        return self.alive and self.quiet_s is not None and self.quiet_s > STALE_AFTER_S


def boot_id() -> str:
    """This boot of this machine (Linux); '' elsewhere. Two containers may share a host name, not a boot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def heartbeat_record(started: float, alive: bool, beats: int) -> dict:
    """writer.json's content: who writes, and when it last beat on each of its clocks."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "boot": boot_id(), "started": started,
            "heartbeat": time.time(), "monotonic": time.monotonic(), "beats": beats, "alive": alive}


def writer_state(run_dir: Path) -> Writer:
    """The writer of `run_dir` as this process sees it now (see the module's docstring for the rules)."""
    run_dir = Path(run_dir)
    info = _read_writer_file(run_dir)
    pid = info.get("pid") if isinstance(info.get("pid"), int) else None
    here = info.get("host") == socket.gethostname() and info.get("boot", boot_id()) == boot_id()
    if is_locked(run_dir):  # a live process on this kernel holds it: the truth, whatever the heartbeat says
        return Writer(True, _quiet_seconds(run_dir, info, here) if info else None, pid, here or not info)
    if not info or not info.get("alive", False):
        return Writer(False, pid=pid, here=here)
    if here:
        if (run_dir / LOCK_FILE).exists():
            return Writer(False, pid=pid, here=True)  # its lock is free: the kernel dropped it with its writer
        return _unlocked_folder(run_dir, info, pid)
    quiet = _quiet_seconds(run_dir, info, here=False)
    return Writer(quiet is None or quiet <= STALE_AFTER_S, quiet, pid, here=False)


def writer_alive(run_dir: Path) -> bool:
    return writer_state(run_dir).alive


def _unlocked_folder(run_dir: Path, info: dict, pid: int | None) -> Writer:
    """A folder of this host with no lock file (written before runs had one): its pid, then its heartbeat."""
    try:
        os.kill(int(pid if pid is not None else -1), 0)
    except ProcessLookupError:
        return Writer(False, pid=pid, here=True)
    except (PermissionError, ValueError, OverflowError):
        pass
    quiet = _quiet_seconds(run_dir, info, here=True)
    return Writer(quiet is None or quiet <= STALE_AFTER_S, quiet, pid, here=True)


def _read_writer_file(run_dir: Path) -> dict:
    try:
        info = json.loads((run_dir / paths.WRITER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _quiet_seconds(run_dir: Path, info: dict, here: bool) -> float | None:
    """Seconds since the writer's last heartbeat, on the clock that stamped it."""
    if here and isinstance(info.get("monotonic"), (int, float)):
        return max(0.0, time.monotonic() - float(info["monotonic"]))  # one boot, one monotonic clock
    try:
        beat = (run_dir / paths.WRITER_FILE).stat().st_mtime  # stamped by the filesystem's clock
    except OSError:
        return None
    now = filesystem_now(run_dir)
    return max(0.0, (time.time() if now is None else now) - beat)


def filesystem_now(folder: Path) -> float | None:
    """The time by the clock that stamps files in `folder` (a network disk's server): the modification time
    of a probe file made there and removed at once. None where nothing can be written."""
    try:
        fd, name = tempfile.mkstemp(prefix=".clock-", dir=folder)
    except OSError:
        return None
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)
        try:
            os.unlink(name)
        except OSError:
            pass
