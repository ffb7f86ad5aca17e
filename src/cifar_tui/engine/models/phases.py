"""A strategy is a model plus one or more training phases (fine-tuning has two)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Phase:
    name: str  # "train" for one-phase strategies; "head" then "finetune" for fine-tuning
    epochs: int
    learning_rate: float
    prepare: Callable[[], None]  # sets trainable flags before the (re)compile of this phase
    epochs_exact: float | None = None  # fractional (airbench's 9.9): the phase ends inside its last epoch,
    #                                    after ceil(epochs_exact x steps per epoch) steps; `epochs` = its ceiling


@dataclass
class Recipe:
    """How a strategy's model trains and is tested, where it differs from the default (Adam, sparse
    cross-entropy, the shared feeder and the model's own augmentation, the config's batch size, plain
    prediction on the test set)."""

    description: str = ""  # one line for tables and reports: model, optimiser, epochs, augmentation, TTA
    batch_size: int | None = None  # per replica; None: the config's batch_size
    # (peak lr, steps in the phase, steps per epoch) -> optimizer
    optimizer: Callable[[float, int, int], object] | None = None
    loss: object = "sparse_categorical_crossentropy"
    callbacks: Callable[[int], list] | None = None  # (steps in the phase) -> extra Keras callbacks
    init_from_data: Callable[[object], None] | None = None  # (uint8 training images) -> None, before epoch 1
    # (x, y, batch_size, seed, first_epoch, epochs) -> (dataset over those epochs, steps per epoch)
    train_dataset: Callable[..., tuple[object, int]] | None = None
    test_model: Callable[[object], object] | None = None  # the trained model -> the model the test set sees
    evaluation: str = ""  # set when the test set is not seen plainly (test-time augmentation): a label
    precise_bn: bool = False  # BatchNorm statistics re-estimated before each validation (training/precise_bn.py)


@dataclass
class StrategyModel:
    model: object  # keras.Model
    phases: list[Phase]
    weights_label: str  # what the model's features start from, in words
    backbone: object | None = None  # the EfficientNet sub-model, for tests and analysis
    recipe: Recipe = field(default_factory=Recipe)
    estimate_bn: bool = False  # random init: estimate the backbone's BatchNorm statistics before training


# Training images whose BatchNorm statistics a random-init backbone starts from, in one batch (train_strategy
# and the probe): the statistics of one batch make inference on it reproduce the training-mode pass exactly,
# where averaging several batches' statistics leaves a mismatch that 16 blocks amplify (measured: pooled
# features up to 97 instead of 27, a head loss of 3.4 instead of 2.6 at the start).
BN_ESTIMATE_IMAGES = 256


def estimate_random_init_statistics(model, backbone, x_train, seed: int, augmented: bool = True) -> int:
    """AdaBN for a random-init backbone, on `BN_ESTIMATE_IMAGES` training images (uint8, drawn with `seed`)
    seen through `model`'s own front (`backbone_input`: augmentation when `augmented`, resize and any
    divide-by-255), exactly as the backbone receives them in that model. Returns the number of images."""
    import numpy as np

    from cifar_tui.engine.models.preprocessing import backbone_input

    order = np.random.default_rng(seed).permutation(len(x_train))[:BN_ESTIMATE_IMAGES]
    return estimate_bn_statistics(backbone, [backbone_input(model, x_train[order], training=augmented)])


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
