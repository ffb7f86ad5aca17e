"""airbench's optimisers: parameter groups as in the reference code (KellerJordan/cifar10-airbench,
`legacy/airbench94.py` and `airbench94_muon.py`), with the weight decay inside the optimiser.

The reference trains with `torch.optim.SGD` over parameter groups, each with its own learning rate and
weight decay: g = grad + weight_decay x p; buf = momentum x buf + g; p -= lr x (g + momentum x buf)
(Nesterov). The decay is a term of the update, not of the loss, so the loss it reports is the
cross-entropy alone. `GroupedSGD` is that update. Issue #24 section 2: the port had the decay as Keras L2
penalties, the same gradient, but added into the reported loss, which then read millions on grayscale data.

airbench94_muon trains the conv filters with Muon (Jordan 2024; `keras.optimizers.Muon` here: its
Newton-Schulz orthogonalisation, 3 steps, momentum 0.6, Nesterov), each filter bank renormalised to
Frobenius norm sqrt(out channels) before its step as in the reference; the BatchNorm biases, the whitening
bias and the head keep SGD groups. Keras' Muon alone would give those Adam and leave 4-D kernels to Adam.

Learning rates are Keras' (mean loss over the batch): the reference's rates for a summed loss x batch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import keras
from keras import ops


@dataclass(frozen=True)
class Group:
    """One parameter group: variables whose path matches `pattern` (a regex; the first group that matches).

    `lr`: a number or a Keras `LearningRateSchedule` of the optimizer's step; `decay`: torch's
    weight_decay (the gradient gains decay x variable); `steps`: the group trains for that many optimizer
    steps, then stays untouched (the reference's whitening bias, 3 epochs); `muon`: Muon's step (only in
    `MuonWithSGD`; conv kernels)."""

    pattern: str
    lr: object
    decay: float = 0.0
    steps: int | None = None
    muon: bool = False


def _group_index(groups: tuple[Group, ...], path: str) -> int:
    for i, group in enumerate(groups):
        if re.search(group.pattern, path):
            return i
    raise ValueError(f"no parameter group for variable {path!r}")


class _Groups:
    """Shared by both optimisers: each variable's group, fixed by index when built (inside an update the
    variable may be a distribution's component, without a path)."""

    groups: tuple[Group, ...]

    def _assign_groups(self, var_list) -> None:
        self._group_of = [self.groups[_group_index(self.groups, v.path)] for v in var_list]

    def _group(self, variable) -> Group:
        return self._group_of[self._get_variable_index(variable)]

    def _rate(self, group: Group, dtype):
        step = ops.cast(self.iterations, "float32")
        rate = group.lr(step) if callable(group.lr) else group.lr
        return ops.cast(rate, dtype)

    def _sgd_step(self, gradient, variable, buffer, group: Group, momentum: float) -> None:
        """torch.optim.SGD's Nesterov step for one variable of `group` (frozen past `group.steps`)."""
        gradient = ops.cast(gradient, variable.dtype)
        value, buffer_value = ops.convert_to_tensor(variable), ops.convert_to_tensor(buffer)  # JAX: the state's
        if group.decay:
            gradient = gradient + group.decay * value
        new_buffer = momentum * buffer_value + gradient
        new_value = value - self._rate(group, variable.dtype) * (gradient + momentum * new_buffer)
        if group.steps is not None:  # past its steps the group takes no step at all (no decay, no momentum)
            active = ops.less(self.iterations, group.steps)
            new_buffer, new_value = ops.where(active, new_buffer, buffer_value), ops.where(active, new_value, value)
        self.assign(buffer, new_buffer)
        self.assign(variable, new_value)


class GroupedSGD(_Groups, keras.optimizers.Optimizer):
    """SGD with Nesterov momentum over parameter groups, each with its own rate, decay and length (torch's
    form). `learning_rate` is only what the run reports: each group steps at its own."""

    def __init__(self, learning_rate, groups, momentum: float, name: str = "grouped_sgd", **kwargs):
        if any(group.muon for group in groups):
            raise ValueError("GroupedSGD has no Muon step: use MuonWithSGD")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.groups, self.momentum = tuple(groups), float(momentum)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._assign_groups(var_list)
        self.buffers = [self.add_variable_from_reference(v, name="momentum") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        buffer = self.buffers[self._get_variable_index(variable)]
        self._sgd_step(gradient, variable, buffer, self._group(variable), self.momentum)


class MuonWithSGD(_Groups, keras.optimizers.Muon):
    """Muon (keras.optimizers.Muon's orthogonalisation) for the groups marked `muon`, SGD for the others, as
    airbench94_muon splits them. `learning_rate` is only what the run reports: each group steps at its own."""

    def __init__(self, learning_rate, groups, sgd_momentum: float, momentum: float = 0.6, ns_steps: int = 3,
                 name: str = "muon_with_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=momentum, ns_steps=ns_steps, nesterov=True,
                         rms_rate=None, weight_decay=None, adam_weight_decay=None, name=name, **kwargs)
        self.groups, self.sgd_momentum = tuple(groups), float(sgd_momentum)

    def build(self, var_list):  # momentum buffers only: no Adam state
        if self.built:
            return
        keras.optimizers.Optimizer.build(self, var_list)
        self._assign_groups(var_list)
        self.momentums = [self.add_variable_from_reference(v, name="momentum") for v in var_list]

    def _apply_weight_decay(self, variables):  # the SGD groups decay in their step; filters are renormalised
        return

    def update_step(self, gradient, variable, learning_rate):
        buffer, group = self.momentums[self._get_variable_index(variable)], self._group(variable)
        if group.muon:
            self._filter_step(gradient, variable, buffer, self._rate(group, variable.dtype))
        else:
            self._sgd_step(gradient, variable, buffer, group, self.sgd_momentum)

    def _filter_step(self, gradient, variable, buffer, rate):
        """A conv kernel (kh, kw, in, out) as the matrix (kh kw in, out), as the reference's (out, in kh kw)."""
        shape = tuple(variable.shape)
        outputs = shape[-1]
        gradient = ops.cast(gradient, variable.dtype)
        value = ops.convert_to_tensor(variable)
        value = value * (math.sqrt(outputs) / (ops.norm(ops.reshape(value, [-1])) + 1e-12))
        new_buffer = self.momentum * ops.convert_to_tensor(buffer) + gradient
        self.assign(buffer, new_buffer)
        step = gradient + self.momentum * new_buffer if self.nesterov else new_buffer
        matrix = ops.reshape(step, (math.prod(shape[:-1]), outputs))
        update = ops.reshape(self.zeropower_via_newtonschulz5(matrix, self.ns_steps), shape)
        self.assign(variable, value - rate * update)
