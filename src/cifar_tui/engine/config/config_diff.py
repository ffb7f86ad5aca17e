"""What differs between the configurations of several runs: only the keys whose values are not all equal.

Each run's configuration is its effective one (engine/config/effective_config.py): what trained, with the request
kept beside a value the run resolved otherwise (digits for cifar10, random init for imagenet). A key differs
when what trained differs, or what was asked for does. A key that none of a run's strategies reads
(`frozen_lr` in a scratch-only run) is "not used" there and differs only between the runs that use it; a key
no run uses is left out.

Nested mappings are flattened to dotted keys ("a.b"); a key absent from a run counts as a difference
(shown as MISSING), since a run recorded by an older version may lack a newer option, except where its
absence has one meaning (`IMPLIED`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cifar_tui.engine.config.effective_config import RecordedConfig, effective_config, show_setting
from cifar_tui.engine.runtime.backend import DEFAULT_BACKEND

MISSING = "(absent)"
NOT_USED = "(not used)"
# Knobs added later whose absence means one value: runs recorded before `backend` existed ran on TensorFlow.
IMPLIED = {"backend": DEFAULT_BACKEND}

@dataclass(frozen=True)
class Setting:
    """One run's cell of a differing key."""

    value: Any  # what trained (MISSING where the run has no such key)
    requested: Any = None  # what was asked for, where it differs (`differs`)
    differs: bool = False
    used: bool = True  # False: none of the run's strategies reads this key

    def text(self) -> str:
        return show_setting(self.value, self.requested, self.differs) if self.used else NOT_USED


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


def _recorded(config: RecordedConfig | dict[str, Any] | None) -> RecordedConfig:
    return config if isinstance(config, RecordedConfig) else effective_config(config or {})


def config_diff(configs: Sequence[RecordedConfig | dict[str, Any] | None]) -> dict[str, list[Setting]]:
    """Key -> one Setting per run, for the keys that differ; keys in first-seen order. A plain dict is a
    recorded config with nothing resolved. Fewer than two configs differ in nothing."""
    records = [_recorded(c) for c in configs]
    flat = [flatten(implied(r.effective)) for r in records]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    diff = {}
    for key in keys:
        settings = [Setting(f.get(key, MISSING), r.requested.get(key), key in r.requested, r.is_used(key))
                    for f, r in zip(flat, records, strict=True)]
        used = [(s.value, s.requested if s.differs else s.value) for s in settings if s.used]
        if len(settings) > 1 and any(u != used[0] for u in used[1:]):
            diff[key] = settings
    return diff
