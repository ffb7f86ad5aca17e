"""The scratch strategy with `scratch_model="airbench"`: airbench94's network and recipe as one phase.

Its own epoch count and batch size (`airbench_epochs`, `airbench_batch_size`: 10 and 1,024 in the
reference) replace the scratch CNN's; everything else is the reference's, see `airbench_recipe`.
"""

from __future__ import annotations

from engine.config import ExperimentConfig
from engine.models.airbench import airbench_net, init_whitening
from engine.models.phases import Phase, Recipe, StrategyModel
from engine.training import airbench_recipe as recipe


def build_airbench(config: ExperimentConfig, num_classes: int) -> StrategyModel:
    model = airbench_net(num_classes, config.scratch_image_size)
    batch = config.airbench_batch_size
    # The data set's augmentation decides (digits: no mirror, in training or in TTA); "auto" (not resolved
    # yet, as in unit tests) is CIFAR's own: the reference's flip + translate.
    flip = config.augment in ("auto", "flip+translate")
    shift = recipe.TRANSLATE if config.augment != "none" else 0
    views = "mirror + 1-px shifts" if flip else "1-px shifts (no mirror: this data set is not mirror-symmetric)"
    parts = (["alternating flip"] if flip else []) + ([f"{shift}-px translate"] if shift else [])
    augmentation = " + ".join(parts) or "no augmentation"
    phase = Phase("train", config.airbench_epochs, recipe.learning_rate(batch), prepare=lambda: None)
    return StrategyModel(model, [phase], weights_label="random init (airbench94 recipe)", recipe=Recipe(
        description=(f"airbench94 net, SGD-Nesterov 0.85 (triangular lr), label smoothing 0.2, lookahead, "
                     f"batch {batch}, {config.airbench_epochs} epochs, {augmentation}, TTA"),
        batch_size=batch,
        optimizer=recipe.optimizer,
        loss=recipe.smoothed_loss(num_classes),
        callbacks=lambda steps: [recipe.WhitenBiasGate(), recipe.Lookahead(steps)],
        init_from_data=lambda images: init_whitening(model, images),
        train_dataset=lambda *args: recipe.train_dataset(*args, translate_px=shift, flip=flip),
        test_model=lambda trained: recipe.tta_model(trained, mirror=flip),
        evaluation=f"test-time augmentation: {views} (airbench)",
    ))
