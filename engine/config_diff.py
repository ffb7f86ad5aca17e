"""What differs between the configurations of several runs: only the keys whose values are not all equal.

Nested mappings are flattened to dotted keys ("a.b"); a key absent from a run counts as a difference
(shown as MISSING), since a run recorded by an older version may lack a newer option, except where its
absence has one meaning (`IMPLIED`).
"""

from __future__ import annotations

from typing import Any

from engine.backend import DEFAULT_BACKEND

MISSING = "(absent)"
# Knobs added later whose absence means one value: runs recorded before `backend` existed ran on TensorFlow.
IMPLIED = {"backend": DEFAULT_BACKEND}


def implied(config: dict[str, Any]) -> dict[str, Any]:
    """`config` with the value an older run's absent knob implies (see `IMPLIED`); an empty config stays empty."""
    return {**IMPLIED, **config} if config else config


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def config_diff(configs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Key -> one value per config (MISSING where absent), for the keys that differ; keys in first-seen
    order. Fewer than two configs differ in nothing."""
    flat = [flatten(implied(c or {})) for c in configs]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    diff = {}
    for key in keys:
        values = [f.get(key, MISSING) for f in flat]
        if any(v != values[0] for v in values[1:]):
            diff[key] = values
    return diff


def show_value(value: Any) -> str:
    """A short, readable cell: lists joined by commas, None as "-"."""
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
