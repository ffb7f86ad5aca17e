"""Learning-rate schedules over one training phase, as Keras `LearningRateSchedule`s (per optimizer step).

- `warmup_cosine`: linear warm-up from ~0 to the peak over the first `warmup_fraction` of the steps, then
  cosine decay to `final_fraction` of the peak at the phase's last step (Loshchilov & Hutter 2017, SGDR;
  Goyal et al. 2017 for the warm-up). The default recipe of the scratch CNN (issue #18): a constant Adam
  rate left its 10-epoch accuracy below simple published CNNs.
- `triangular`: airbench94's schedule (Jordan 2024, arXiv 2404.00498; KellerJordan/cifar10-airbench):
  linear from 0.2x to 1x of the peak over the first 23% of the steps, then linear down to 0.07x.
- `linear_decay`: airbench94_muon's (same repository, `airbench94_muon.py`): peak x (1 - step/total).

The step is the optimizer's own iteration counter, which checkpoints save and restore, so a resumed phase
continues the schedule where it stopped.
"""

from __future__ import annotations

import math

import keras
from keras import ops

SCHEDULES = ("cosine", "constant")  # the choices of `ExperimentConfig.scratch_schedule`


@keras.saving.register_keras_serializable(package="cifar_tui")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """peak x (linear warm-up, then cosine to final_fraction x peak); `total_steps` >= 1."""

    def __init__(self, peak: float, total_steps: int, warmup_fraction: float = 0.05,
                 final_fraction: float = 0.01):
        self.peak, self.total_steps = float(peak), max(int(total_steps), 1)
        self.warmup_fraction, self.final_fraction = float(warmup_fraction), float(final_fraction)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        total = float(self.total_steps)
        warmup = max(math.ceil(self.warmup_fraction * total), 1)
        # the first step trains at peak/warmup, not 0: a zero step would be wasted
        rising = (step + 1.0) / warmup
        progress = ops.clip((step - warmup) / max(total - warmup, 1.0), 0.0, 1.0)
        cosine = self.final_fraction + (1 - self.final_fraction) * 0.5 * (1 + ops.cos(math.pi * progress))
        return self.peak * ops.where(step < warmup, rising, cosine)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_fraction": self.warmup_fraction,
                "final_fraction": self.final_fraction}


@keras.saving.register_keras_serializable(package="cifar_tui")
class Triangular(keras.optimizers.schedules.LearningRateSchedule):
    """airbench94's triangle: start x peak -> peak at `peak_at` of the steps -> end x peak at the last step."""

    def __init__(self, peak: float, total_steps: int, start: float = 0.2, end: float = 0.07,
                 peak_at: float = 0.23):
        self.peak, self.total_steps = float(peak), max(int(total_steps), 1)
        self.start, self.end, self.peak_at = float(start), float(end), float(peak_at)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        total = float(self.total_steps)
        rise = max(int(total * self.peak_at), 1)
        up = self.start + (1 - self.start) * step / rise
        down = 1 + (self.end - 1) * ops.clip((step - rise) / max(total - rise, 1.0), 0.0, 1.0)
        return self.peak * ops.where(step < rise, up, down)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "start": self.start, "end": self.end,
                "peak_at": self.peak_at}


@keras.saving.register_keras_serializable(package="cifar_tui")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """peak x (1 - step / total_steps), 0 from `total_steps` on (airbench94_muon: no warm-up)."""

    def __init__(self, peak: float, total_steps: int):
        self.peak, self.total_steps = float(peak), max(int(total_steps), 1)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        return self.peak * ops.clip(1.0 - step / float(self.total_steps), 0.0, 1.0)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps}


def scratch_learning_rate(schedule: str, peak: float, epochs: int, steps_per_epoch: int):
    """What the scratch CNN's Adam gets: a schedule over the whole phase, or the constant `peak`."""
    if schedule == "constant":
        return peak
    return WarmupCosine(peak, epochs * steps_per_epoch)
