"""Strategies 2 and 3: EfficientNetB0 with a new classifier head, pretrained on ImageNet or from random init.

The recipe of Keras' "Transfer learning & fine-tuning" guide:
- pixels go in as [0, 255]: Keras' EfficientNet rescales and normalises its own input;
- the backbone runs in inference mode (BatchNorm on its stored statistics, no stochastic depth) in `frozen`
  and in both `finetune` phases, whatever training flag `fit()` passes (see `BackboneCall`);
- frozen: only the head (global average pooling, [Dense(head_units, relu)], dropout, dense softmax) trains;
- finetune: phase 1 trains the head on the frozen backbone, phase 2 unfreezes the backbone (all of it, or
  the top N blocks), BatchNorm layers excepted, and recompiles with a very small learning rate.

From random init (`--weights none`) there are no pretrained statistics to protect, and BatchNorm at its
initial statistics (mean 0, variance 1) passes almost no signal through 16 blocks (activations ~1e-5 at
the top). So both strategies first estimate the BatchNorm statistics on training batches (AdaBN: forward
passes only, no gradient step): `frozen` is then a "random features" control, and `finetune`'s phase 2
trains BatchNorm normally (trainable, batch statistics), as the random-init arm of Kornblith et al. 2019.

`input_scaling="unit"` and `bn_mode="train"` reproduce two mistakes of the notebook this study corrects;
`stochastic_depth` turns EfficientNet's drop-connect back on (the notebook had it, through Keras' default
call). They exist for ablations and the replication, and are labelled.
"""

from __future__ import annotations

import keras
from keras import layers

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.models.backbone import WeightsChoice, block_index, build_backbone
from cifar_tui.engine.models.phases import Phase, StrategyModel
from cifar_tui.engine.models.preprocessing import (
    BACKBONE_CALL,
    WITHOUT_TRANSLATION,
    augmentation,
    model_input,
    preprocess,
)

# Momentum of the backbone's BatchNorm when it trains from random init: Keras' 0.99 lags behind weights
# that change fast, so validation (on the moving statistics) lags behind training; the scratch CNN uses 0.9
# for the same reason.
RANDOM_INIT_BN_MOMENTUM = 0.9


class BackboneCall(layers.Layer):
    """Calls the backbone with `training=False` unless `follow_training` is set.

    Under Keras 3.15, `backbone(x, training=False)` written into a functional model is overridden by the
    `training=True` that `fit()` passes down (keras-team/keras#20285): EfficientNet's stochastic depth then
    drops residual branches while a "frozen" backbone's head trains. A layer's own `call` passing an
    explicit flag is not overridden. `follow_training` is set by a phase's `prepare` (before its compile)
    only where the backbone must see the flag: BatchNorm meant to update (random init or `bn_mode="train"`
    in finetune's phase 2), or stochastic depth asked for.
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(name=BACKBONE_CALL, dtype=backbone.dtype_policy, **kwargs)
        self.backbone = backbone
        self.follow_training = False

    def build(self, input_shape):
        self.built = True  # the backbone was built with its input shape

    def call(self, inputs, training=None):
        return self.backbone(inputs, training=bool(training) and self.follow_training)

    def compute_output_shape(self, input_shape):
        return self.backbone.compute_output_shape(input_shape)


def transfer_model(config: ExperimentConfig, num_classes: int, weights: WeightsChoice):
    size = config.transfer_image_size
    backbone = build_backbone(size, weights)
    backbone.trainable = False
    if not config.stochastic_depth:
        # keras.applications.EfficientNetB0 fixes drop_connect_rate at 0.2; its drop layers are the only
        # Dropout layers of the notop backbone. Rate 0 makes them identities whatever the flag.
        for layer in backbone.layers:
            if isinstance(layer, layers.Dropout):
                layer.rate = 0.0
    if not weights.pretrained:
        for layer in backbone.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.momentum = RANDOM_INIT_BN_MOMENTUM

    inputs = model_input()  # uint8 32 px: augmented (training only) and resized to `size` in the model
    x = preprocess(inputs, size, transfer_augmentation(config), config.seed)
    if config.input_scaling == "unit":  # the mistake: EfficientNet then sees ~[0, 0.004]
        x = layers.Rescaling(1.0 / 255, name="mistake_divide_by_255")(x)
    call = BackboneCall(backbone)
    x = call(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if config.head_units:
        x = layers.Dense(config.head_units, activation="relu", name="head_dense")(x)
    x = layers.Dropout(config.dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="efficientnetb0_transfer"), backbone, call


def transfer_augmentation(config: ExperimentConfig) -> str:
    """The augmentation of frozen and finetune, in every phase: the run's, less its translation with
    `transfer_translate = false` (a key of `AUGMENTATIONS`)."""
    augment = augmentation(config)
    return augment if config.transfer_translate else WITHOUT_TRANSLATION[augment]


def freeze(backbone, call: BackboneCall, config: ExperimentConfig) -> None:
    backbone.trainable = False
    call.follow_training = config.stochastic_depth  # BatchNorm of a frozen backbone never updates


def unfreeze(backbone, call: BackboneCall, config: ExperimentConfig, pretrained: bool) -> None:
    """Make the backbone trainable: all blocks (unfreeze_blocks=0) or the top N of 7, plus the top conv.

    BatchNorm stays frozen over pretrained statistics unless `bn_mode="train"` (the notebook's mistake);
    from random init it trains like any other layer.
    """
    bn_trains = config.bn_mode == "train" or not pretrained
    top_blocks = config.unfreeze_blocks
    backbone.trainable = True
    for layer in backbone.layers:
        in_scope = top_blocks == 0 or block_index(layer.name) > 7 - top_blocks
        if isinstance(layer, layers.BatchNormalization) and not bn_trains:
            layer.trainable = False  # keep ImageNet statistics and affine parameters
        else:
            layer.trainable = in_scope
    call.follow_training = bn_trains or config.stochastic_depth


def _label(weights: WeightsChoice, strategy: str) -> str:
    if weights.pretrained:
        return weights.label
    if strategy == "frozen":
        return ("random features: random init, BatchNorm statistics estimated on training batches, then frozen"
                " (NO pretrained weights)")
    return "random init, trained end to end with BatchNorm training normally (NO pretrained weights)"


def build_frozen(config: ExperimentConfig, num_classes: int, weights: WeightsChoice) -> StrategyModel:
    model, backbone, call = transfer_model(config, num_classes, weights)
    phase = Phase("train", config.frozen_epochs, config.frozen_lr, prepare=lambda: freeze(backbone, call, config))
    return StrategyModel(model, [phase], _label(weights, "frozen"), backbone,
                         estimate_bn=not weights.pretrained)


def build_finetune(config: ExperimentConfig, num_classes: int, weights: WeightsChoice) -> StrategyModel:
    model, backbone, call = transfer_model(config, num_classes, weights)
    phases = [
        Phase("head", config.head_epochs, config.head_lr, prepare=lambda: freeze(backbone, call, config)),
        Phase("finetune", config.finetune_epochs, config.finetune_lr,
              prepare=lambda: unfreeze(backbone, call, config, weights.pretrained)),
    ]
    label = _label(weights, "finetune")
    if config.finetune_from == "frozen":  # phase 1 is the frozen strategy's training, continued here
        phases = phases[1:]
        label += f"; continues the frozen strategy's trained model ({config.frozen_epochs} head epochs)"
    return StrategyModel(model, [p for p in phases if p.epochs > 0], label, backbone,
                         estimate_bn=not weights.pretrained and config.finetune_from != "frozen")


def head_model(model) -> keras.Model:
    """The layers after `avg_pool` of a `transfer_model` model, as a model of their own on pooled features
    (B, D): the same layer objects, so fitting it trains the full model's head (feature caching)."""
    pooled = model.get_layer("avg_pool")
    features = keras.Input(shape=tuple(pooled.output.shape[1:]), name="pooled_features")
    x = features
    for layer in model.layers[model.layers.index(pooled) + 1:]:
        x = layer(x)
    return keras.Model(features, x, name="transfer_head")
