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
