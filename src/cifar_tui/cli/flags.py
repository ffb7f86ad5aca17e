"""The run options, defined once, and from them to a validated `ExperimentConfig`.

`RUN_OPTIONS` is the one definition of every option that describes an experiment; `with_run_options` adds
them to a Typer command (`cifar-tui run` and the app's own `cifar-tui --preset ... --epochs ...`), so the two
can never disagree. `None` means "not given": the preset's value stands.
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
from collections.abc import Callable
from typing import Any

import typer

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.config.presets import preset_config
from cifar_tui.engine.errors import ConfigError
from cifar_tui.engine.runtime.backend import chosen_backend


def parse_strategies(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if not names:
        raise ConfigError("--strategies needs at least one of scratch, frozen, finetune, probe")
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
    if "backend" in more or os.environ.get("KERAS_BACKEND"):  # Keras' own variable stands in for the flag
        overrides["backend"] = chosen_backend(more.get("backend"))
    if epochs is not None:
        if epochs < 1:  # named as given: the config would name the first strategy it checks ("scratch epochs")
            raise ConfigError(f"--epochs must be at least 1, got {epochs}")
        overrides.update(scratch_epochs=epochs, frozen_epochs=epochs, finetune_epochs=epochs, airbench_epochs=epochs)
        if head_epochs is None:  # fair budgets (#12): finetune's head trains as long as the frozen strategy
            overrides.update(head_epochs=epochs)
    if train_fraction is not None and train_per_class is not None:
        raise ConfigError("give --train-per-class or --train-fraction, not both")
    config = preset_config(preset, **overrides)
    if train_fraction is not None:  # an explicit fraction replaces the preset's per-class count
        config = config.replace(train_per_class=None)
    if (train_fraction is not None or train_per_class is not None) and more.get("val_from") is None:
        config = config.replace(val_from="full")  # a subset asked for: validation from the full set (#15)
    config.validate()
    from cifar_tui.engine.data.feasibility import check_fits  # local: numpy and scikit-learn, never TensorFlow

    check_fits(config)
    return config


def _opt(*names: str, help: str | None = None, hidden: bool = False) -> Any:
    return typer.Option(None, *names, help=help, hidden=hidden)


# (parameter name = config_from_flags argument, type, Typer option). The order is the order in --help.
RUN_OPTIONS: list[tuple[str, Any, Any]] = [
    ("preset", str | None, _opt("--preset", "-p", help="quick (CPU, minutes; the default) or paper (GPU, "
                                "full study).")),
    ("strategies", str | None, _opt("--strategies", "-s", help="Comma list: scratch,frozen,finetune (and probe: "
                                    "a linear probe of the frozen features).")),
    ("epochs", int | None, _opt("--epochs", help="Epochs of each strategy (fine-tune: head and phase 2 "
                                           "each, unless --head-epochs).")),
    ("head_epochs", int | None, _opt("--head-epochs", help="Fine-tune phase 1 (head) epochs.")),
    ("image_size", int | None, _opt("--image-size", help="EfficientNet input size (>= 32).")),
    ("batch_size", int | None, _opt("--batch-size")),
    ("dataset", str | None, _opt("--dataset", help="cifar10 (default), cifar100, cifar100_coarse, fashion_mnist, "
                                 "mnist, folder (your images, one sub-folder per class, at --data-dir), or "
                                 "digits (offline demo, NOT CIFAR-10).")),
    ("data_dir", str | None, _opt("--data-dir", help="A local copy of the data set as shipped (e.g. "
                                  "cifar-10-python.tar.gz, mnist.npz, or a folder holding it, Keras' cache "
                                  "included); with --dataset folder, your folder of class folders.")),
    ("weights", str | None, _opt("--weights", help="imagenet (default), none, or a path to a notop .h5 file.")),
    ("seed", int | None, _opt("--seed")),
    ("name", str | None, _opt("--name", help="Part of the run id: letters, digits, . _ -")),
    ("train_fraction", float | None, _opt("--train-fraction", help="Stratified share of the images outside "
                                       "validation, (0, 1].")),
    ("train_per_class", int | None, _opt("--train-per-class", help="k training images per class (few-shot), "
                                         "drawn from outside the validation set.")),
    ("test_limit", int | None, _opt("--test-limit", help="Stratified test subset (quick runs).")),
    ("val_fraction", float | None, _opt("--val-fraction")),
    ("finetune_lr", float | None, _opt("--finetune-lr")),
    ("unfreeze_blocks", int | None, _opt("--unfreeze-blocks", help="Top N of 7 blocks; 0 = all.")),
    ("augment", bool | None, _opt("--augment/--no-augment")),
    ("input_scaling", str | None, _opt("--input-scaling", help="raw (right) or unit (mistake).")),
    ("bn_mode", str | None, _opt("--bn-mode", help="inference (right) or train (mistake).")),
    ("select_on", str | None, _opt("--select-on", help="val (right) or test (the leak, mistake).")),
    ("scratch_model", str | None, _opt("--scratch-model", help="cnn (ours), airbench (airbench94's recipe, "
                                       "32 px), airbench_muon (airbench94_muon, the record) or notebook "
                                       "(Flatten).")),
    ("scratch_schedule", str | None, _opt("--scratch-schedule", help="Scratch CNN learning rate: cosine "
                                          "(warm-up then cosine decay; the default) or constant.")),
    ("transfer_schedule", str | None, _opt("--transfer-schedule", help="frozen/finetune learning rates: "
                                           "constant (the default, the Keras guide's) or cosine.")),
    ("scratch_image_size", int | None, _opt("--scratch-image-size", help="Scratch CNN input size.")),
    ("checkpoints", bool | None, _opt("--checkpoints/--no-checkpoints", help="Keep last/best epoch checkpoints "
                                      "for resume (default on).")),
    ("jit", bool | None, _opt("--jit/--no-jit", help="XLA (default: Keras' auto, on GPUs; off on CPU).")),
    ("precision", str | None, _opt("--precision", help="auto (mixed on a GPU), float32 or mixed.")),
    ("gpus", str | None, _opt("--gpus", help="all or 0,1,...: MirroredStrategy (batch per replica).")),
    ("scale_lr", bool | None, _opt("--scale-lr/--no-scale-lr", help="With N replicas, learning rates x N "
                                   "(default on).")),
    ("steps_per_execution", int | None, _opt("--steps-per-execution", help="Batches per compiled call (small "
                                             "models on GPUs).")),
    ("frozen_features", str | None, _opt("--frozen-features", help="cached (default: a frozen backbone's "
                                         "features of each epoch's augmented images extracted and reused; "
                                         "exact) or live (the backbone on every augmented batch).")),
    ("transfer_translate", bool | None, _opt("--transfer-translate/--no-transfer-translate", help="Off: frozen "
                                             "and finetune train without translation in every phase (a cheaper "
                                             "cache: at most two views per image); scratch keeps it.")),
    ("backend", str | None, _opt("--backend", help="Keras backend: tensorflow (the default), jax or torch; "
                                 "absent: $KERAS_BACKEND, else tensorflow.")),
    ("domain_distance", bool | None, _opt("--domain-distance", help="Before training, measure how far the data "
                                          "set is from ImageNet as the pretrained backbone sees it (recorded "
                                          "with the data set; docs/data.md).")),
    ("eager", bool | None, _opt("--eager", hidden=True)),
    ("tensorboard", bool | None, _opt("--tensorboard", help="Also write TensorBoard scalars into the run folder "
                                      "(tensorboard/<strategy>).")),
    ("offline_fallback", bool | None, _opt("--offline-fallback", hidden=True,
                                           help="make run only: use digits / random init when CIFAR-10 / "
                                           "ImageNet are missing.")),
]
RUN_OPTION_NAMES = tuple(name for name, _type, _option in RUN_OPTIONS)


def with_run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a Typer command every option of `RUN_OPTIONS`; it receives them as one dict, `run_options`
    (name -> value, None when not given). The command's own parameters follow them in --help."""
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
           for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "run_options"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=copy.copy(option), annotation=kind)
             for name, kind, option in RUN_OPTIONS]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        run_options = {name: kwargs.pop(name) for name in RUN_OPTION_NAMES}
        return command(**kwargs, run_options=run_options)

    parameters = added + own
    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def given_options(run_options: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave (a `False` from `--no-augment` counts; an absent flag is None)."""
    return {name: value for name, value in run_options.items() if value is not None}


def config_from_options(run_options: dict[str, Any]) -> ExperimentConfig:
    """`config_from_flags` for a command's `run_options` (no preset given: quick)."""
    options = dict(run_options)
    options["preset"] = options.get("preset") or "quick"
    options["offline_fallback"] = bool(options.get("offline_fallback"))
    return config_from_flags(**options)
