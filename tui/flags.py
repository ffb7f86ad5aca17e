"""From command-line flags (or the New run form) to a validated `ExperimentConfig`.

Shared by `cifar-tui run`, `cifar-tui` (the app) and the app's New run screen, so a value means the same
everywhere. `None` means "not given": the preset's value stands.
"""

from __future__ import annotations

from typing import Any

from engine.config import ExperimentConfig
from engine.errors import ConfigError
from engine.presets import preset_config


def parse_strategies(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if not names:
        raise ConfigError("--strategies needs at least one of scratch, frozen, finetune")
    return names


def config_from_flags(
    preset: str = "quick",
    strategies: str | None = None,
    epochs: int | None = None,
    head_epochs: int | None = None,
    image_size: int | None = None,
    batch_size: int | None = None,
    dataset: str | None = None,
    data_dir: str | None = None,
    weights: str | None = None,
    seed: int | None = None,
    name: str | None = None,
    train_fraction: float | None = None,
    train_per_class: int | None = None,
    test_limit: int | None = None,
    val_fraction: float | None = None,
    finetune_lr: float | None = None,
    unfreeze_blocks: int | None = None,
    augment: bool | None = None,
    input_scaling: str | None = None,
    bn_mode: str | None = None,
    jit: bool | None = None,
    eager: bool | None = None,
    tensorboard: bool | None = None,
    precision: str | None = None,
    offline_fallback: bool = False,
    **more: Any,
) -> ExperimentConfig:
    """`more`: further config knobs by their config name (select_on, scratch_model, ...)."""
    if offline_fallback and preset == "paper":
        raise ConfigError("the paper preset never falls back to substitute data or weights")
    overrides = dict(
        strategies=parse_strategies(strategies), head_epochs=head_epochs, transfer_image_size=image_size,
        batch_size=batch_size, dataset=dataset, data_dir=data_dir, weights=weights, seed=seed, name=name,
        train_fraction=train_fraction, train_per_class=train_per_class, test_limit=test_limit,
        val_fraction=val_fraction, finetune_lr=finetune_lr, unfreeze_blocks=unfreeze_blocks, augment=augment,
        input_scaling=input_scaling, bn_mode=bn_mode, jit=jit, run_eagerly=eager, tensorboard=tensorboard,
        precision=precision,
        allow_fallback=offline_fallback or None,
        **more,
    )
    if epochs is not None:
        overrides.update(scratch_epochs=epochs, frozen_epochs=epochs, finetune_epochs=epochs)
    if train_fraction is not None and train_per_class is None:
        overrides["train_per_class"] = None  # an explicit fraction replaces the preset's per-class count
        config = preset_config(preset, **overrides).replace(train_per_class=None)
    else:
        config = preset_config(preset, **overrides)
    return config.validate()
