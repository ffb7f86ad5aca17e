"""How airbench94 and airbench94_muon train and test (Jordan 2024, arXiv 2404.00498;
KellerJordan/cifar10-airbench, `legacy/airbench94.py` and `airbench94_muon.py`).

- Optimiser (airbench94): SGD with Nesterov momentum 0.85 in torch's form over the reference's parameter
  groups (`airbench_optimizer.GroupedSGD`): lr 11.5 "per 1,024 examples" divided by its kilostep scale
  1024 x (1 + 1/(1 - momentum)) per summed example, i.e. x batch for Keras' mean loss; the BatchNorm biases
  at 64x that rate; weight decay 0.0153 "per 1,024 examples" in the update (torch's weight_decay = wd / lr
  of each group: the same decay per step in every group), so the reported loss is the data loss.
- Optimiser (airbench94_muon): Muon (lr 0.24, momentum 0.6, 3 Newton-Schulz steps) for the conv filters;
  SGD-Nesterov 0.85 at 0.053 (biases) and 0.67 (head) per summed example, decay 2e-6 per example.
- The batch is the reference's (1,024; muon 2,000) but never more than the training set, and the rates
  follow the batch actually used: each example's step is the reference's at any training-set size.
- Batches drop the last partial one, as the reference's loader; epochs may end inside the last one (9.9).
- Schedule: `Triangular` (0.2x -> 1x at 23% of the steps -> 0.07x; airbench94), `LinearDecay` (to 0, muon).
- Label smoothing 0.2. Buys: calibrated, less over-confident logits; +~0.3 points in the reference.
- Whitening bias: trained for the first 3 epochs only (muon: at a rate falling to 0 over them).
- Lookahead (airbench94): every 5 steps the weights move to an exponential moving average of themselves
  whose decay rises as 0.95^5 x (step/total)^3; the last step snaps to the average. Buys: the averaging of
  weight EMA late in training without its cost early on.
- Alternating flip: each image gets a random mirror once; every other epoch all images are mirrored, so
  in any two consecutive epochs an image is seen both ways. Buys: flip augmentation without repeating
  the same view by chance (the paper's Section 3.6: worth ~0.25 epochs of training).
- Random translation by up to 2 px with reflect padding.
- Test-time augmentation (on the test set only; validation epochs are not augmented): logits averaged
  over the image and its mirror, and over both shifted by one pixel up-left and down-right. Buys: ~0.4
  points. It changes evaluation, so runs using it say so wherever the result is shown.

Checkpoints keep weights and optimiser state; the lookahead average restarts from the restored weights
on resume (an approximation, said in the README).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from cifar_tui.engine.models.preprocessing import INPUT_NAME
from cifar_tui.engine.training.airbench_optimizer import Group, GroupedSGD, MuonWithSGD
from cifar_tui.engine.training.schedules import LinearDecay, Triangular

LABEL_SMOOTHING = 0.2
WHITEN_BIAS_EPOCHS = 3
LOOKAHEAD_EVERY = 5
TRANSLATE = 2
SGD_MOMENTUM = 0.85
# airbench94 (legacy/airbench94.py)
EPOCHS, BATCH = 9.9, 1024
LR = 11.5
KILOSTEP_SCALE = 1024 * (1 + 1 / (1 - SGD_MOMENTUM))
WEIGHT_DECAY = 0.0153
BIAS_SCALER = 64.0  # BatchNorm biases learn 64x faster than the weights (decayed the same per step)
# airbench94_muon.py
MUON_EPOCHS, MUON_BATCH = 8, 2000
MUON_LR, MUON_MOMENTUM, MUON_NS_STEPS = 0.24, 0.6, 3
BIAS_LR, HEAD_LR = 0.053, 0.67  # per summed example
MUON_DECAY = 2e-6  # per example
REFERENCE = {"airbench": (EPOCHS, BATCH), "airbench_muon": (MUON_EPOCHS, MUON_BATCH)}  # epochs, batch
NORM_BIASES, WHITEN_BIAS, HEAD, FILTERS = r"_norm\d/beta$", r"^whiten_bias/", r"^head/", r"_conv\d/kernel$"


def learning_rate(batch_size: int, variant: str = "airbench") -> float:
    """Peak learning rate for Keras' mean loss over `batch_size` images: airbench94's weights, or
    airbench94_muon's BatchNorm biases (what a run reports as its rate)."""
    return (LR / KILOSTEP_SCALE if variant == "airbench" else BIAS_LR) * batch_size


def whiten_steps(steps_per_epoch: int) -> int:
    return math.ceil(WHITEN_BIAS_EPOCHS * steps_per_epoch)


def optimizer(peak: float, total_steps: int, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """airbench94's groups: torch's weight_decay wd/lr per group (batch-independent), BatchNorm biases at
    `BIAS_SCALER`x the rate."""
    decay = WEIGHT_DECAY / LR
    schedule = Triangular(peak, total_steps)
    return GroupedSGD(schedule, [
        Group(NORM_BIASES, Triangular(peak * BIAS_SCALER, total_steps), decay / BIAS_SCALER),
        Group(WHITEN_BIAS, schedule, decay, steps=whiten_steps(steps_per_epoch)),
        Group(".", schedule, decay),
    ], momentum=SGD_MOMENTUM)


def muon_optimizer(peak: float, total_steps: int, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """airbench94_muon's split: Muon for the conv filters (its rate does not follow the batch: Muon's step
    is orthogonalised), SGD for the whitening bias, the BatchNorm biases and the head."""
    bias_steps = whiten_steps(steps_per_epoch)
    schedule = LinearDecay(peak, total_steps)
    return MuonWithSGD(schedule, [
        Group(FILTERS, LinearDecay(MUON_LR, total_steps), muon=True),
        Group(WHITEN_BIAS, LinearDecay(peak, bias_steps), MUON_DECAY / BIAS_LR, steps=bias_steps),
        Group(NORM_BIASES, schedule, MUON_DECAY / BIAS_LR),
        Group(HEAD, LinearDecay(peak * HEAD_LR / BIAS_LR, total_steps), MUON_DECAY / HEAD_LR),
    ], sgd_momentum=SGD_MOMENTUM, momentum=MUON_MOMENTUM, ns_steps=MUON_NS_STEPS)


def smoothed_loss(num_classes: int):
    def loss(y_true, y_pred):
        labels = ops.one_hot(ops.cast(ops.reshape(y_true, [-1]), "int32"), num_classes)
        return keras.losses.categorical_crossentropy(labels, y_pred, label_smoothing=LABEL_SMOOTHING)

    loss.__name__ = "smoothed_crossentropy"
    return loss


class Lookahead(keras.callbacks.Callback):
    """The reference's LookaheadState: float weights (trainable and BN statistics) pulled to their EMA every
    `LOOKAHEAD_EVERY` steps; after the last step (`total_steps`) the weights become the average. Should the
    optimizer count fewer steps than were run (a loss-scaled step skipped under mixed precision), the
    snap happens before the last epoch's validation all the same."""

    def __init__(self, total_steps: int):
        super().__init__()
        self.total_steps = max(int(total_steps), 1)
        self.average: list | None = None
        self.snapped = False
        self._epoch = 0

    def _tracked(self):
        return [v for v in self.model.weights if v.trainable or "moving" in v.path]

    def _update(self, decay: float) -> None:
        for average, variable in zip(self.average, self._tracked(), strict=True):
            average += (1.0 - decay) * (np.array(variable) - average)
            variable.assign(average)

    def on_train_begin(self, logs=None):
        self.average = [np.array(v) for v in self._tracked()]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations)
        if step % LOOKAHEAD_EVERY == 0 and not self.snapped:
            self._update(0.95**5 * (min(step, self.total_steps) / self.total_steps) ** 3)
        if step >= self.total_steps and not self.snapped:  # the last step: the weights become the average
            self._update(1.0)
            self.snapped = True

    def on_test_begin(self, logs=None):
        if not self.snapped and self._epoch == self.params.get("epochs", 0) - 1:
            self._update(1.0)
            self.snapped = True


def train_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, first_epoch: int,
                  epochs: int, translate_px: int = TRANSLATE, flip: bool = True) -> tuple[AirbenchBatches, int]:
    """Batches of epochs first_epoch..epochs-1, one dataset (fit runs it with steps_per_epoch), and the
    steps per epoch.

    Every random choice is a function of (seed, epoch, batch): an epoch's batches are the same whether the
    run was interrupted before it or not, and whatever order a backend's loader asks for them in."""
    batches = AirbenchBatches(x, y, batch_size, seed, first_epoch, epochs, translate_px, flip)
    return batches, batches.steps


class AirbenchBatches(keras.utils.PyDataset):
    """airbench's training batches as a Keras `PyDataset` of numpy arrays (any backend): item i is batch
    i % steps of epoch first_epoch + i // steps, uint8 (B, 32, 32, 3) as the shared feeder's (the model
    resizes) and int32 labels."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, first_epoch: int, epochs: int,
                 translate_px: int = TRANSLATE, flip: bool = True):
        super().__init__()
        self.x, self.y = x, np.asarray(y, dtype=np.int32)
        self.batch_size, self.seed, self.first_epoch, self.epochs = batch_size, seed, first_epoch, epochs
        self.translate_px, self.flip = translate_px, flip
        self.steps = max(len(x) // batch_size, 1)  # the last partial batch is dropped, as the reference's
        self.base_flip = np.random.default_rng(seed).random(len(x)) < 0.5  # each image's first mirror
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.steps * max(self.epochs - self.first_epoch, 0)

    def _epoch_order(self, epoch: int) -> np.ndarray:
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.x)))
        return self._order[1]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        epoch, step = self.first_epoch + index // self.steps, index % self.steps
        idx = self._epoch_order(epoch)[step * self.batch_size:(step + 1) * self.batch_size]
        batch = self.x[idx]
        if self.flip:  # off where mirroring changes the class (digits)
            mirrored = self.base_flip[idx] ^ (epoch % 2 == 1)
            batch = np.where(mirrored[:, None, None, None], batch[:, :, ::-1], batch)
        if self.translate_px:
            batch = translate(batch, np.random.default_rng([self.seed, epoch, step]), self.translate_px)
        return batch, self.y[idx]


def translate(batch: np.ndarray, rng: np.random.Generator, pad: int = TRANSLATE) -> np.ndarray:
    """Each image (B, H, W, C) shifted by a random whole number of pixels in [-pad, pad], reflect-padded.
    One slice per offset (at most (2 pad + 1)^2 of them), not a per-pixel gather: ~4x faster in numpy."""
    size = batch.shape[1]
    padded = np.pad(batch, [(0, 0), (pad, pad), (pad, pad), (0, 0)], mode="reflect")
    offsets = rng.integers(0, 2 * pad + 1, size=(len(batch), 2))
    out = np.empty_like(batch)
    for dy, dx in np.unique(offsets, axis=0):
        chosen = np.flatnonzero((offsets[:, 0] == dy) & (offsets[:, 1] == dx))
        out[chosen] = padded[chosen, dy:dy + size, dx:dx + size]
    return out


class TestTimeAugmentation(layers.Layer):
    """Softmax of the reference's level-2 TTA: 6 views' logits, mirrored and shifted by one pixel (without
    `mirror`, for data whose mirror image is another class: the 3 unmirrored views, same weights)."""

    def __init__(self, logits_model: keras.Model, mirror: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.logits_model, self.mirror = logits_model, mirror

    def _mirror(self, x):
        if not self.mirror:
            return self.logits_model(x)
        return 0.5 * self.logits_model(x) + 0.5 * self.logits_model(ops.flip(x, axis=2))

    def call(self, x):
        size = x.shape[1]
        padded = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
        up_left = padded[:, 0:size, 0:size, :]
        down_right = padded[:, 2:size + 2, 2:size + 2, :]
        shifted = 0.5 * (self._mirror(up_left) + self._mirror(down_right))
        return ops.softmax(0.5 * self._mirror(x) + 0.5 * shifted, axis=-1)


def tta_model(model: keras.Model, mirror: bool = True) -> keras.Model:
    """The model the test set sees: the trained network under test-time augmentation."""
    logits = keras.Model(model.inputs, model.get_layer("logits").output)
    inputs = keras.Input(shape=model.inputs[0].shape[1:], dtype=model.inputs[0].dtype, name=INPUT_NAME)
    return keras.Model(inputs, TestTimeAugmentation(logits, mirror)(inputs), name="airbench94_tta")
