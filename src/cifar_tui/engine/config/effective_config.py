"""What a run trained with: the one source of its effective configuration for every view (issue #25).

A run records the configuration it was asked for (`config.json`, the `run_started` event), and beside it what
it resolved at start: the data set it loaded (`dataset`; digits when `make run` could not have CIFAR-10), the
weights its backbone got (`weights`; random init when ImageNet's could not be had) and the environment
(`precision` and `jit` after "auto", the Keras backend). `effective_config` puts these together: each key
holds what trained, and `requested` keeps what was asked for, only for the keys where the two differ. Views
show the effective value and mark the request beside it (`show_setting`); nothing shows a request alone.

`unused_keys` says which knobs none of a run's strategies reads (`frozen_lr` means nothing to a scratch-only
run), so that a comparison leaves out what changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cifar_tui.engine.runtime.backend import DEFAULT_BACKEND


@dataclass
class RecordedConfig:
    effective: dict[str, Any]  # key -> what trained (the recorded value where the run resolved nothing)
    requested: dict[str, Any] = field(default_factory=dict)  # key -> what was asked, where it differs
    unused: frozenset[str] = frozenset()  # the keys none of the run's strategies reads

    def is_used(self, key: str) -> bool:
        return key.split(".")[0] not in self.unused


def effective_config(config: dict[str, Any], dataset: dict[str, Any] | None = None,
                     weights: dict[str, Any] | None = None,
                     environment: dict[str, Any] | None = None) -> RecordedConfig:
    """The recorded `config` (the `run_started` event's, or config.json's) with what the run resolved in
    `dataset`, `weights` and `environment` (the same event's). An empty config (a run not started) stays empty."""
    if not config:
        return RecordedConfig({}, {})
    dataset, weights, environment = dataset or {}, weights or {}, environment or {}
    resolved: dict[str, Any] = {}
    if dataset.get("name"):
        resolved["dataset"] = dataset["name"]
    if config.get("augment") in ("auto", True, None) and dataset.get("augmentation"):
        resolved["augment"] = dataset["augmentation"]  # runs recorded before "auto" was resolved in the config
    if "pretrained" in weights:  # a run with a backbone (scratch-only runs record {"label": "n/a"})
        resolved["weights"] = weights_used(weights)
    for key in ("precision", "jit"):
        if key in environment:
            resolved[key] = environment[key]
    resolved.update(environment.get("airbench") or {})  # the reference's epochs, the batch capped at the set
    resolved["backend"] = environment.get("backend") or config.get("backend") or DEFAULT_BACKEND
    effective = {**config, **resolved}
    requested = {key: ASKED_WORDS.get((key, config[key]), config[key]) for key, value in resolved.items()
                 if key in config and config[key] != value}
    if "weights" in requested and str(requested["weights"]).strip().lower() == str(effective["weights"]).lower():
        del requested["weights"]  # " ImageNet " asked, "imagenet" loaded: the same thing
    return RecordedConfig(effective, requested, unused_keys(config))


# a request recorded as None, in the words of its flag
ASKED_WORDS = {("jit", None): "auto", ("airbench_epochs", None): "the reference's",
               ("airbench_batch_size", None): "the reference's"}


def of_state(state) -> RecordedConfig:
    """`effective_config` of a RunState (or anything with config, dataset, weights, environment)."""
    return effective_config(state.config, state.dataset, state.weights, state.environment)


def weights_used(weights: dict[str, Any]) -> str:
    """What the backbone was initialised from, as `--weights` spells it: "imagenet", "none" or the file."""
    if not weights.get("pretrained"):
        return "none"
    requested = str(weights.get("requested", "")).strip()
    return "imagenet" if requested.lower() == "imagenet" else str(weights.get("path") or requested or "pretrained")


# Knobs that only some strategies read; every other knob concerns the whole run (data, seed, execution).
TRANSFER = ("frozen", "finetune")
BACKBONE = ("frozen", "finetune", "probe")
READ_BY = {
    "transfer_image_size": BACKBONE, "weights": BACKBONE, "input_scaling": BACKBONE, "frozen_features": BACKBONE,
    "frozen_epochs": ("frozen",), "frozen_lr": ("frozen",),
    "head_epochs": ("finetune",), "head_lr": ("finetune",), "finetune_epochs": ("finetune",),
    "finetune_lr": ("finetune",), "unfreeze_blocks": ("finetune",), "finetune_patience": ("finetune",),
    "finetune_from": ("finetune",), "finetune_analysis": ("finetune",), "bn_mode": ("finetune",),
    "transfer_schedule": TRANSFER, "head_units": TRANSFER, "stochastic_depth": TRANSFER,
    "scratch_image_size": ("scratch",), "scratch_model": ("scratch",),
}
CNN_SCRATCH = ("scratch_epochs", "scratch_lr", "scratch_schedule")  # the scratch CNNs (not airbench's recipe)
AIRBENCH = ("airbench_epochs", "airbench_batch_size")


def unused_keys(config: dict[str, Any]) -> frozenset[str]:
    """The top-level keys of `config` that none of its strategies reads (none when its strategies are unknown)."""
    strategies = config.get("strategies")
    if not isinstance(strategies, (list, tuple)):
        return frozenset()
    chosen = set(strategies)
    airbench = config.get("scratch_model") in ("airbench", "airbench_muon")
    out = set()
    for key in config:
        readers = READ_BY.get(key)
        if key in CNN_SCRATCH:
            readers = () if airbench else ("scratch",)
        elif key in AIRBENCH:
            readers = ("scratch",) if airbench else ()
        elif key == "dropout":  # the scratch CNNs' and the transfer head's; airbench has none
            readers = TRANSFER if airbench else ("scratch", *TRANSFER)
        if key == "head_epochs" and config.get("finetune_from") == "frozen":
            readers = ()  # finetune continues the frozen strategy's model: no head phase of its own
        if readers is not None and not chosen & set(readers):
            out.add(key)
    return frozenset(out)


def show_setting(value: Any, requested: Any = None, differs: bool = False) -> str:
    """One cell: the effective value, and the request beside it where it differs ("digits (asked cifar10)")."""
    text = show_value(value)
    return f"{text} (asked {show_value(requested)})" if differs else text


def show_value(value: Any) -> str:
    """A short, readable value: lists joined by commas, None as "-"."""
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
