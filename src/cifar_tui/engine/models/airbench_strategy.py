"""The scratch strategy with `scratch_model="airbench"` or `"airbench_muon"`: airbench94's network and
recipe, or airbench94_muon's, as one phase.

Their own epoch count and batch size (`airbench_epochs`, `airbench_batch_size`; None: the reference's,
9.9 and 1,024 for airbench94, 8 and 2,000 for airbench94_muon) replace the scratch CNN's; everything else is
the reference's, see `airbench_recipe`.
"""

from __future__ import annotations

import math

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.models.airbench import VARIANTS, airbench_net, init_whitening
from cifar_tui.engine.models.phases import Phase, Recipe, StrategyModel
from cifar_tui.engine.training import airbench_recipe as recipe


def resolve(config: ExperimentConfig, n_train: int, replicas: int = 1) -> ExperimentConfig:
    """`config` with airbench's epochs and batch made explicit: the reference's where None, and the batch
    never more than the training set's `n_train` images over `replicas` (a larger one would hold every image
    in each step, at a rate meant for more: each example's step n/batch times too large, issue #24)."""
    if config.scratch_model not in VARIANTS:
        return config
    epochs, batch = recipe.REFERENCE[config.scratch_model]
    batch = config.airbench_batch_size or batch
    return config.replace(airbench_epochs=config.airbench_epochs or epochs,
                          airbench_batch_size=max(min(batch, n_train // max(replicas, 1)), 1))


def build_airbench(config: ExperimentConfig, num_classes: int) -> StrategyModel:
    variant = config.scratch_model
    muon = variant == "airbench_muon"
    epochs, batch = recipe.REFERENCE[variant]
    epochs, batch = config.airbench_epochs or epochs, config.airbench_batch_size or batch
    model = airbench_net(num_classes, config.scratch_image_size, variant)
    # The data set's augmentation decides (digits: no mirror, in training or in TTA); "auto" (not resolved
    # yet, as in unit tests) is CIFAR's own: the reference's flip + translate.
    flip = config.augment in ("auto", "flip+translate")
    shift = recipe.TRANSLATE if config.augment != "none" else 0
    views = "mirror + 1-px shifts" if flip else "1-px shifts (no mirror: this data set is not mirror-symmetric)"
    parts = (["alternating flip"] if flip else []) + ([f"{shift}-px translate"] if shift else [])
    augmentation = " + ".join(parts) or "no augmentation"
    peak = recipe.learning_rate(batch, variant)
    phase = Phase("train", math.ceil(epochs), peak, prepare=lambda: None, epochs_exact=float(epochs))
    if muon:
        optimiser = (f"Muon {recipe.MUON_LR:g} on conv filters + SGD-Nesterov {recipe.SGD_MOMENTUM:g} "
                     f"(peak {peak:.3g}; linear decay)")
        callbacks = None
    else:
        optimiser = f"SGD-Nesterov {recipe.SGD_MOMENTUM:g} (peak {peak:.3g}; triangular lr), lookahead"
        callbacks = lambda steps: [recipe.Lookahead(steps)]  # noqa: E731
    return StrategyModel(model, [phase], weights_label=f"random init ({model.name} recipe)", recipe=Recipe(
        description=(f"{model.name} net, {optimiser}, weight decay in the optimiser, label smoothing 0.2, "
                     f"batch {batch}, {epochs:g} epochs, {augmentation}, TTA, precise-BN statistics"),
        # Validation and test with the statistics of the weights they see: in a run of a few steps (batch =
        # the whole few-shot training set) the moving average lags weights that still change fast.
        precise_bn=True,
        batch_size=batch,
        optimizer=recipe.muon_optimizer if muon else recipe.optimizer,
        loss=recipe.smoothed_loss(num_classes),
        callbacks=callbacks,
        init_from_data=lambda images: init_whitening(model, images),
        train_dataset=lambda *args: recipe.train_dataset(*args, translate_px=shift, flip=flip),
        test_model=lambda trained: recipe.tta_model(trained, mirror=flip),
        evaluation=f"test-time augmentation: {views} (airbench)",
    ))
