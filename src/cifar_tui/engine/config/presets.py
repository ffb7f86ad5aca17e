"""Named presets: overrides on `ExperimentConfig`'s defaults.

`quick` is sized for a 2-core CPU with no GPU (see the measured costs in the README): a stratified subset
of a few thousand images, EfficientNet at 64 px, a few epochs. `paper` is the full study: all 50,000
training images, EfficientNet at 224 px, epoch counts comparable to the study this tool replaces. In both,
finetune's head warm-up trains as many epochs as the frozen strategy's head, so the two transfer
strategies differ only by the unfrozen phase.
"""

from __future__ import annotations

from typing import Any

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import ConfigError

PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(
        train_per_class=200,  # 2,000 images: 1,800 train + 200 validation carved from them (cheap; an
        val_from="subset",    # explicit --train-per-class or --train-fraction switches to val_from "full")
        test_limit=1000,
        transfer_image_size=64,
        batch_size=64,
        scratch_epochs=6,
        frozen_epochs=2,
        head_epochs=2,  # = frozen_epochs: finetune minus frozen is then the unfreezing, not extra head epochs
        finetune_epochs=2,
        finetune_lr=1e-4,  # a short schedule on few images needs a slightly larger step than 1e-5
    ),
    "paper": dict(
        transfer_image_size=224,
        batch_size=64,
        scratch_epochs=20,
        frozen_epochs=5,
        head_epochs=5,  # = frozen_epochs (see quick)
        finetune_epochs=5,
        finetune_lr=1e-5,
    ),
}


def preset_config(preset: str, **overrides: Any) -> ExperimentConfig:
    """The preset's config with `overrides` applied (None values are ignored: 'flag not given')."""
    if preset not in PRESETS and preset != "custom":
        raise ConfigError(f"unknown preset {preset!r}: choose from {', '.join(PRESETS)}")
    values = dict(PRESETS.get(preset, {}))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ExperimentConfig(preset=preset, **values)
    except TypeError as exc:  # an unknown knob: a programming error surfaced as a clear message
        raise ConfigError(str(exc)) from None
