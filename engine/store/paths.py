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
