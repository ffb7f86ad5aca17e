"""Strategy 1: a small CNN trained from random initialisation at CIFAR's native 32 px.

Three conv-BN-ReLU double blocks (32, 64, 128 filters) with max pooling and dropout, then global average
pooling into a softmax: ~290k parameters. A sensible baseline, unlike a Flatten of 224-px feature maps into
Dense(128) (~24M parameters that mostly memorise).
"""

from __future__ import annotations

import keras
from keras import layers

from cifar_tui.engine.config.choices import AIRBENCH_MODELS
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.models.phases import Phase, Recipe, StrategyModel
from cifar_tui.engine.models.preprocessing import augmentation, model_input, preprocess
from cifar_tui.engine.training.schedules import scratch_learning_rate


def scratch_cnn(image_size: int, num_classes: int, dropout: float, augment: str = "none",
                seed: int | None = None) -> keras.Model:
    """uint8 (B, 32, 32, 3) -> `augment` (training only) and resize to `image_size` inside the model
    (`engine/models/preprocessing.py`) -> class probabilities (B, num_classes)."""
    inputs = model_input()
    x = layers.Rescaling(1.0 / 255)(preprocess(inputs, image_size, augment, seed))
    for filters in (32, 64, 128):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            # momentum 0.9 (Keras' default is 0.99, torch's 0.9): the moving statistics follow the training;
            # before each validation they are replaced by precise-BN estimates (engine/training/precise_bn.py).
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.1)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="scratch_cnn")


def notebook_cnn(image_size: int, num_classes: int, dropout: float = 0.0, augment: str = "none",
                 seed: int | None = None) -> keras.Model:
    """The widely copied notebook's CNN, for the seed-replication study only: two conv + pool stages, then
    Flatten into Dense(128), no dropout (its cell 2). At 224 px the Flatten has 54x54x64 = 186,624 features:
    ~24M parameters. `dropout` is not used: the notebook has none. Input as `scratch_cnn`'s."""
    inputs = model_input()
    x = layers.Rescaling(1.0 / 255)(preprocess(inputs, image_size, augment, seed))
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="notebook_cnn")


def build_scratch(config: ExperimentConfig, num_classes: int, weights=None) -> StrategyModel:
    if config.scratch_model in AIRBENCH_MODELS:
        from cifar_tui.engine.models.airbench_strategy import build_airbench  # local: its recipe imports tf.data

        return build_airbench(config, num_classes)
    builder = notebook_cnn if config.scratch_model == "notebook" else scratch_cnn
    model = builder(config.scratch_image_size, num_classes, config.dropout, augmentation(config), config.seed)
    phase = Phase("train", config.scratch_epochs, config.scratch_lr, prepare=lambda: None)
    schedule = "warm-up + cosine" if config.scratch_schedule == "cosine" else "constant lr"
    precise_bn = builder is scratch_cnn  # the notebook's CNN has no BatchNorm
    recipe = Recipe(
        description=f"{model.name}, Adam {config.scratch_lr:g} ({schedule}), {config.scratch_epochs} epochs, "
                    f"augmentation {config.augment}" + (", precise-BN statistics" if precise_bn else ""),
        precise_bn=precise_bn,
        optimizer=lambda peak, steps, _per_epoch: keras.optimizers.Adam(
            learning_rate=scratch_learning_rate(config.scratch_schedule, peak, 1, steps)),
    )
    return StrategyModel(model, [phase], weights_label="random init (trained from scratch)", recipe=recipe)
