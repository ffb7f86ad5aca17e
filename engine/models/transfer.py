"""Strategies 2 and 3: EfficientNetB0 pretrained on ImageNet with a new classifier head.

The recipe of Keras' "Transfer learning & fine-tuning" guide:
- pixels go in as [0, 255]: Keras' EfficientNet rescales and normalises its own input;
- the backbone is called with `training=False`, so its BatchNorm layers stay in inference mode even
  when the backbone is unfrozen for fine-tuning (otherwise small CIFAR batches rewrite the ImageNet
  statistics and wreck the features);
- frozen: only the head (global average pooling, dropout, dense softmax) trains;
- finetune: phase 1 trains the head on the frozen backbone, phase 2 unfreezes the backbone (all of it, or
  the top N blocks), BatchNorm layers excepted, and recompiles with a very small learning rate.

`input_scaling="unit"` and `bn_mode="train"` reproduce the two mistakes of the notebook this study
corrects; they exist for ablations and are labelled on every screen.
"""

from __future__ import annotations

import keras
from keras import layers

from engine.config import ExperimentConfig
from engine.models.backbone import WeightsChoice, block_index, build_backbone
from engine.models.phases import Phase, StrategyModel


def transfer_model(config: ExperimentConfig, num_classes: int, weights: WeightsChoice):
    size = config.transfer_image_size
    backbone = build_backbone(size, weights)
    backbone.trainable = False

    inputs = keras.Input(shape=(size, size, 3), name="pixels_0_255")
    x = inputs
    if config.input_scaling == "unit":  # the mistake: EfficientNet then sees ~[0, 0.004]
        x = layers.Rescaling(1.0 / 255, name="mistake_divide_by_255")(x)
    if config.bn_mode == "inference":
        x = backbone(x, training=False)
    else:  # the mistake: BatchNorm follows fit()'s training flag and updates its statistics
        x = backbone(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(config.dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="efficientnetb0_transfer"), backbone


def freeze(backbone) -> None:
    backbone.trainable = False


def unfreeze(backbone, top_blocks: int, bn_mode: str) -> None:
    """Make the backbone trainable: all blocks (top_blocks=0) or the top N of 7, plus the top conv."""
    backbone.trainable = True
    for layer in backbone.layers:
        in_scope = top_blocks == 0 or block_index(layer.name) > 7 - top_blocks
        if isinstance(layer, layers.BatchNormalization) and bn_mode == "inference":
            layer.trainable = False  # keep ImageNet statistics and affine parameters
        else:
            layer.trainable = in_scope


def build_frozen(config: ExperimentConfig, num_classes: int, weights: WeightsChoice) -> StrategyModel:
    model, backbone = transfer_model(config, num_classes, weights)
    phase = Phase("train", config.frozen_epochs, config.frozen_lr, prepare=lambda: freeze(backbone))
    return StrategyModel(model, [phase], weights.label, backbone)


def build_finetune(config: ExperimentConfig, num_classes: int, weights: WeightsChoice) -> StrategyModel:
    model, backbone = transfer_model(config, num_classes, weights)
    phases = [
        Phase("head", config.head_epochs, config.head_lr, prepare=lambda: freeze(backbone)),
        Phase("finetune", config.finetune_epochs, config.finetune_lr,
              prepare=lambda: unfreeze(backbone, config.unfreeze_blocks, config.bn_mode)),
    ]
    return StrategyModel(model, [p for p in phases if p.epochs > 0], weights.label, backbone)
