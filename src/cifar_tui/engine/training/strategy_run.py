"""What every step of one strategy's training shares: the run's inputs, where it resumes, its data feeds."""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import keras

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.data.splits import PreparedData
from cifar_tui.engine.run.events import Sink
from cifar_tui.engine.training.checkpoint_files import Checkpoint


class TrainingFailed(Exception):
    """A strategy could not be trained (NaN loss, say); the run goes on with the next one."""


@dataclass
class StrategyRun:
    """One strategy's training inputs. `distribution`: a tf.distribute distribution or None; `resume`: the
    checkpoint training continues after (its epoch, weights, optimizer state and best epoch), or None."""

    name: str
    config: ExperimentConfig
    data: PreparedData
    sink: Sink
    stop_event: threading.Event
    distribution: object = None
    checkpoint_dir: Path | None = None
    resume: Checkpoint | None = None

    @property
    def done(self) -> int:
        """Epochs finished before an interruption (0 for a fresh start)."""
        return self.resume.epoch if self.resume else 0

    @property
    def replicas(self) -> int:
        return self.distribution.num_replicas_in_sync if self.distribution is not None else 1

    @property
    def lr_factor(self) -> int:
        """The linear scaling rule's factor on every learning rate (1 unless `scale_lr`)."""
        return self.replicas if self.config.scale_lr else 1

    def scope(self):
        """The distribution's scope, a fresh context each time: a scope object cannot be entered twice."""
        return self.distribution.scope() if self.distribution is not None else contextlib.nullcontext()


@dataclass
class Feeds:
    """The training and validation batches of one strategy. `steps`: training batches per epoch;
    `batch_size`: the global batch (per replica x replicas); `total_epochs`: over all phases."""

    train: object
    val: object
    steps: int
    batch_size: int
    total_epochs: int


def count_params(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


@contextlib.contextmanager
def dtype_policy(config: ExperimentConfig):
    """The run's Keras dtype policy while models are built, float32 again after (later models, other runs).
    Mixed precision: layers built under it compute in float16 and a model built under it wraps its
    optimizer in a LossScaleOptimizer at compile time; every classifier output stays float32."""
    keras.mixed_precision.set_dtype_policy("mixed_float16" if config.precision == "mixed" else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
