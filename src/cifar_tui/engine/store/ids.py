"""Run ids and names that are safe as folder names and can never point outside the runs folder."""

from __future__ import annotations

import re
import secrets
import time

from cifar_tui.engine.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def validate_name(name: str) -> str:
    """A user-given run name: empty, or letters, digits, '.', '_', '-' (no separators, no '..')."""
    if name == "":
        return name
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ConfigError(
            f"run name {name!r} is not allowed: use up to 64 letters, digits, '.', '_' or '-' "
            "(no path separators, no '..')"
        )
    return name


def validate_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id) or ".." in run_id:
        raise ConfigError(f"{run_id!r} is not a valid run id (no path separators or '..')")
    return run_id


def new_run_id(name: str = "", now: float | None = None) -> str:
    """`YYYYMMDD-HHMMSS-<name or 'run'>-<8 hex>`: sorts by time; 32 random bits make two ids in the same
    second collide about once in 4 billion pairs, and the exclusive mkdir of the folder refuses even that."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return f"{stamp}-{validate_name(name) or 'run'}-{secrets.token_hex(4)}"
