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


@dataclass
class Recipe:
    """How a strategy's model trains and is tested, where it differs from the default (Adam, sparse
    cross-entropy, the shared tf.data pipeline, the config's batch size, plain prediction on the test set)."""

    description: str = ""  # one line for tables and reports: model, optimiser, epochs, augmentation, TTA
    batch_size: int | None = None  # per replica; None: the config's batch_size
    optimizer: Callable[[float, int], object] | None = None  # (peak lr, steps in the phase) -> optimizer
    loss: object = "sparse_categorical_crossentropy"
    callbacks: Callable[[int], list] | None = None  # (steps in the phase) -> extra Keras callbacks
    init_from_data: Callable[[object], None] | None = None  # (uint8 training images) -> None, before epoch 1
    # (x, y, batch_size, seed, first_epoch, epochs) -> (dataset over those epochs, steps per epoch)
    train_dataset: Callable[..., tuple[object, int]] | None = None
    test_model: Callable[[object], object] | None = None  # the trained model -> the model the test set sees
    evaluation: str = ""  # set when the test set is not seen plainly (test-time augmentation): a label


@dataclass
class StrategyModel:
    model: object  # keras.Model
    phases: list[Phase]
    weights_label: str  # what the model's features start from, in words
    backbone: object | None = None  # the EfficientNet sub-model, for tests and analysis
    recipe: Recipe = field(default_factory=Recipe)
