"""A strategy is a model plus one or more training phases (fine-tuning has two)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Phase:
    name: str  # "train" for one-phase strategies; "head" then "finetune" for fine-tuning
    epochs: int
    learning_rate: float
    prepare: Callable[[], None]  # sets trainable flags before the (re)compile of this phase


@dataclass
class StrategyModel:
    model: object  # keras.Model
    phases: list[Phase]
    weights_label: str  # what the model's features start from, in words
    backbone: object | None = None  # the EfficientNet sub-model, for tests and analysis
    estimate_bn: bool = False  # random init: estimate the backbone's BatchNorm statistics before training


def estimate_bn_statistics(backbone, batches) -> int:
    """AdaBN (Li et al. 2016): set every BatchNorm's moving mean and variance to their average over
    `batches` (float32 (B, H, W, 3) arrays in [0, 255]), by forward passes in training mode; no weight
    changes. Momentum (k-1)/k at batch k makes the moving statistics the running average of the batch
    statistics (as torch.optim.swa_utils.update_bn does). Returns the number of images seen."""
    from keras import layers

    norms = [layer for layer in backbone.layers if isinstance(layer, layers.BatchNormalization)]
    saved = [(layer.trainable, layer.momentum) for layer in norms]
    was_trainable = backbone.trainable
    backbone.trainable = True  # Keras 3 BatchNorm uses (and records) batch statistics only when trainable
    seen = 0
    try:
        for k, x in enumerate(batches, start=1):
            for layer in norms:
                layer.momentum = (k - 1) / k
            backbone(x, training=True)
            seen += int(x.shape[0])
    finally:
        backbone.trainable = was_trainable
        for layer, (trainable, momentum) in zip(norms, saved, strict=True):
            layer.trainable, layer.momentum = trainable, momentum
    return seen
