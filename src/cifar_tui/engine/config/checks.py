"""The checks of an ExperimentConfig's values: each in its type and range, named in one plain sentence
(`ConfigError`) before TensorFlow loads and before a run folder is written. Every value is checked whether or
not the chosen strategies use it (issue #26): a typo stays a typo. Checked in a fixed order; the first invalid
value is the one reported."""

from __future__ import annotations

import math
from typing import Any

from cifar_tui.engine.config.choices import (
    AIRBENCH_MODELS,
    AUGMENTS,
    DATASETS,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_HEAD_UNITS,
    MAX_IMAGE_SIZE,
    MAX_IMAGES,
    MAX_SEED,
    MAX_STEPS_PER_EXECUTION,
    MIN_EFFICIENTNET_SIZE,
    SCRATCH_MODELS,
    STRATEGIES,
)
from cifar_tui.engine.errors import ConfigError


def check_values(config) -> None:
    """Raise `ConfigError` for the first invalid value of `config` (an ExperimentConfig)."""
    _check_what_and_data(config)
    _check_training(config)
    _check_runtime(config)
    _check_recipes(config)
    _check_switches(config)


def _check_what_and_data(config) -> None:
    """What runs on which data: the strategies, the data set and its splits."""
    from cifar_tui.engine.store.ids import validate_name  # local: keeps this module dependency-free

    if not config.strategies:
        raise ConfigError(f"choose at least one strategy ({', '.join(STRATEGIES)})")
    for s in config.strategies:
        if s not in STRATEGIES:
            raise ConfigError(f"unknown strategy {s!r}: choose from {', '.join(STRATEGIES)}")
    if len(set(config.strategies)) != len(config.strategies):
        raise ConfigError("each strategy may be listed once")
    if config.dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {config.dataset!r}: choose from {', '.join(DATASETS)}")
    if config.dataset == "folder" and not config.data_dir:
        raise ConfigError("the data set 'folder' needs a data dir (--data-dir PATH): your folder with one "
                          "sub-folder of images per class")
    validate_name(config.name)
    _check_int(config.seed, "seed", minimum=0, maximum=MAX_SEED)
    _check_fraction(config.val_fraction, "val fraction", allow_zero=False, allow_one=False)
    _check_fraction(config.train_fraction, "train fraction", allow_zero=False, allow_one=True)
    if config.val_from not in ("full", "subset"):
        raise ConfigError(f"val from must be 'full' or 'subset', got {config.val_from!r}")
    if config.train_per_class is not None:  # the old order needs 2: one to validate, one to train
        _check_int(config.train_per_class, "train images per class", minimum=1 if config.val_from == "full" else 2,
                   maximum=MAX_IMAGES)
        if config.train_fraction != 1.0:
            raise ConfigError("give train images per class or a train fraction, not both")
    if config.test_limit is not None:
        _check_int(config.test_limit, "test limit", minimum=10, maximum=MAX_IMAGES)


def _check_training(config) -> None:
    """The training knobs: batch, image sizes, epochs, learning rates, the head."""
    _check_int(config.batch_size, "batch size", minimum=1, maximum=MAX_BATCH_SIZE)
    _check_int(config.scratch_image_size, "scratch image size", minimum=8, maximum=MAX_IMAGE_SIZE)
    # every value is checked whether or not the chosen strategies use it (issue #26): a typo stays a typo
    _check_int(config.transfer_image_size, "image size", minimum=MIN_EFFICIENTNET_SIZE,
               maximum=MAX_IMAGE_SIZE, why=" (EfficientNetB0's minimum)")
    for knob in ("scratch_epochs", "frozen_epochs", "finetune_epochs"):
        _check_int(getattr(config, knob), knob.replace("_", " "), minimum=1, maximum=MAX_EPOCHS)
    _check_int(config.head_epochs, "head epochs", minimum=0, maximum=MAX_EPOCHS)
    for knob in ("scratch_lr", "frozen_lr", "head_lr", "finetune_lr"):
        value = getattr(config, knob)
        if not _is_number(value) or not 0 < value < 1:
            raise ConfigError(f"{knob.replace('_', ' ')} must be in (0, 1), got {value!r}")
    _check_int(config.unfreeze_blocks, "unfreeze blocks", minimum=0, maximum=7)
    if not _is_number(config.dropout) or not 0 <= config.dropout < 1:
        raise ConfigError(f"dropout must be in [0, 1), got {config.dropout!r}")
    if not isinstance(config.weights, str) or not config.weights.strip():
        raise ConfigError("weights must be 'imagenet', 'none' or a path to a weights file")
    if config.input_scaling not in ("raw", "unit"):
        raise ConfigError(f"input scaling must be 'raw' or 'unit', got {config.input_scaling!r}")


def _check_runtime(config) -> None:
    """How it computes: jit, precision, BatchNorm mode, steps per execution, devices, backend."""
    if config.jit not in (None, True, False):
        raise ConfigError(f"jit must be true, false or null (auto), got {config.jit!r}")
    if config.precision not in ("auto", "float32", "mixed"):
        raise ConfigError(f"precision must be auto, float32 or mixed, got {config.precision!r}")
    if config.bn_mode not in ("inference", "train"):
        raise ConfigError(f"bn mode must be 'inference' or 'train', got {config.bn_mode!r}")
    _check_int(config.steps_per_execution, "steps per execution", minimum=1, maximum=MAX_STEPS_PER_EXECUTION)
    from cifar_tui.engine.training.distribute import validate_spec  # local: no TensorFlow at import

    validate_spec(config.gpus)
    from cifar_tui.engine.runtime.backend import (  # local: keeps this module dependency-free
        check_backend,
        unsupported,
    )

    check_backend(config.backend)
    refused = unsupported(config.backend, config.gpus, config.tensorboard)
    if refused:
        raise ConfigError(refused)


def _check_recipes(config) -> None:
    """Model selection, the scratch model and its airbench settings, schedules and augmentation."""
    if config.select_on not in ("val", "test"):
        raise ConfigError(f"select on must be 'val' or 'test', got {config.select_on!r}")
    if config.scratch_model not in SCRATCH_MODELS:
        raise ConfigError(f"scratch model must be one of {', '.join(SCRATCH_MODELS)}, got {config.scratch_model!r}")
    for knob in ("scratch_schedule", "transfer_schedule"):
        if getattr(config, knob) not in ("cosine", "constant"):
            raise ConfigError(f"{knob.replace('_', ' ')} must be 'cosine' or 'constant', "
                              f"got {getattr(config, knob)!r}")
    if config.airbench_epochs is not None and (not _is_number(config.airbench_epochs) or config.airbench_epochs <= 0):
        raise ConfigError(f"airbench epochs must be a number above 0, got {config.airbench_epochs!r}")
    if config.airbench_epochs is not None and config.airbench_epochs > MAX_EPOCHS:
        raise ConfigError(f"airbench epochs must be at most {MAX_EPOCHS}, got {config.airbench_epochs!r}")
    if config.airbench_batch_size is not None:
        _check_int(config.airbench_batch_size, "airbench batch size", minimum=1, maximum=MAX_BATCH_SIZE)
    if config.scratch_model in AIRBENCH_MODELS and config.scratch_image_size != 32:
        raise ConfigError("the airbench model is built for 32-px input: leave scratch image size at 32")
    if config.augment not in AUGMENTS:
        raise ConfigError(f"augment must be one of {', '.join(AUGMENTS)}, got {config.augment!r}")
    _check_int(config.head_units, "head units", minimum=0, maximum=MAX_HEAD_UNITS)


def _check_switches(config) -> None:
    """The on/off knobs and the text ones, fine-tuning's start and patience, cached features, keep."""
    for knob in ("stochastic_depth", "domain_distance", "finetune_analysis", "scale_lr", "checkpoints",
                 "tensorboard", "run_eagerly", "allow_fallback", "transfer_translate"):
        if not isinstance(getattr(config, knob), bool):
            raise ConfigError(f"{knob.replace('_', ' ')} must be true or false, got {getattr(config, knob)!r}")
    if not isinstance(config.preset, str) or not (config.data_dir is None or isinstance(config.data_dir, str)):
        raise ConfigError(f"preset and data dir must be text, got {config.preset!r} and {config.data_dir!r}")
    if config.finetune_from not in ("", "frozen"):
        raise ConfigError(f"finetune from must be '' or 'frozen', got {config.finetune_from!r}")
    _check_int(config.finetune_patience, "finetune patience", minimum=0, maximum=MAX_EPOCHS)
    if config.frozen_features not in ("cached", "live"):
        raise ConfigError(f"frozen features must be 'cached' or 'live', got {config.frozen_features!r}")
    if config.keep not in ("best", "last"):
        raise ConfigError(f"keep must be 'best' or 'last', got {config.keep!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(value: Any, what: str, minimum: int, maximum: int | None = None, why: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what} must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{what} must be at least {minimum}{why}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{what} must be at most {maximum}, got {value}")


def _check_fraction(value: Any, what: str, allow_zero: bool, allow_one: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value >= 0 if allow_zero else value > 0) and (value <= 1 if allow_one else value < 1)
    if not ok:
        interval = ("[0" if allow_zero else "(0") + ", " + ("1]" if allow_one else "1)")
        raise ConfigError(f"{what} must be in {interval}, got {value!r}")
