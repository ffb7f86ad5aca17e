"""Where runs live: `--runs-dir`, else `$CIFAR_TUI_RUNS`, else `./runs`."""

from __future__ import annotations

import os
from pathlib import Path

FORMAT_VERSION = 1  # bump when the run folder layout changes incompatibly
CONFIG_FILE = "config.json"
EVENTS_FILE = "events.jsonl"
SUMMARY_FILE = "summary.json"
WRITER_FILE = "writer.json"
NATIVE_LOG = "tensorflow.log"


def resolve_runs_dir(flag: str | os.PathLike | None = None) -> Path:
    if flag:
        return Path(flag).expanduser()
    env = os.environ.get("CIFAR_TUI_RUNS")
    return Path(env).expanduser() if env else Path("runs")


def resume_command(run_id: str, runs_dir: str | os.PathLike) -> str:
    """The command that continues a stopped run, pasted as it is: with `--runs-dir` unless `runs_dir` is the
    folder a bare `cifar-tui` would use here (the hint without it failed for runs elsewhere)."""
    import shlex

    words = ["cifar-tui", "resume", run_id]
    if Path(runs_dir).expanduser().absolute() != resolve_runs_dir().absolute():
        words += ["--runs-dir", str(runs_dir)]
    return shlex.join(words)


def check_runs_dir(runs_dir: Path) -> None:
    """Raise StoreError (one line) when no run folder can be made in `runs_dir`; writes nothing.

    Runs before TensorFlow loads, so a mistyped `--runs-dir` is refused in a second, not after the data
    set is read. (Creating the folder itself can still fail later, say on a full disk: the recorder reports
    that.)"""
    from cifar_tui.engine.errors import StoreError

    path = Path(runs_dir)
    if path.exists() and not path.is_dir():
        raise StoreError(f"runs folder {path} is a file, not a folder (see --runs-dir / $CIFAR_TUI_RUNS)")
    existing = next((p for p in (path, *path.absolute().parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise StoreError(f"cannot create runs folder {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise StoreError(f"cannot create a run in {path}: {existing} is not writable (Permission denied)")
