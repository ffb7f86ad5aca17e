"""BatchNorm statistics of the weights being validated ("precise BN"), for models trained from scratch.

Keras' BatchNormalization evaluates with an exponential moving average of the batch statistics seen in
training. In a short run the weights change faster than that average follows (issue #24 section 7): the
average mixes statistics of weights long gone with its initial (0, 1), and inference-mode BatchNorm then
normalises with the wrong statistics, so validation sits near chance while training accuracy climbs. A
larger momentum only trades this lag for noise. Precise BN (Wu & Johnson 2021, "Rethinking 'Batch' in
BatchNorm", arXiv 2105.07576, Section 3) instead sets the statistics, before each validation, to their
average over a fixed sample of training batches under the current weights: what inference-mode BatchNorm
is meant to use. The sample passes through the model in training mode, with the augmentation and dropout
the training batches had, as the moving average would have seen them; no weight changes. Used by the
scratch CNN and both airbench recipes (after airbench94's lookahead has averaged the weights).
"""

from __future__ import annotations

import keras
import numpy as np

from cifar_tui.engine.models.phases import estimate_bn_statistics

PRECISE_BN_IMAGES = 512  # training images per estimate (fewer if the training set is smaller)
ESTIMATE_BATCH = 256  # images per forward pass: population statistics need no small batches


def has_batch_norm(model) -> bool:
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)


class PreciseBatchNorm(keras.callbacks.Callback):
    """Before each validation (`on_test_begin`), every top-level BatchNormalization layer of the fitted model
    gets the mean and variance of its input averaged over `images` (uint8 (N, H, W, 3) training images, a
    seeded sample of at most `PRECISE_BN_IMAGES`) in batches of `batch_size`. The best-epoch weights and
    checkpoints, saved at the epoch's end, carry these statistics, so the test sees them too. Its cost is
    about one forward pass over the sample per validation."""

    def __init__(self, images: np.ndarray, batch_size: int = ESTIMATE_BATCH, seed: int = 0):
        super().__init__()
        order = np.random.default_rng(seed).permutation(len(images))[:PRECISE_BN_IMAGES]
        self.images, self.batch_size = images[order], max(int(batch_size), 1)
        self.estimates = 0  # how many validations were preceded by an estimate (tests, logs)

    def on_test_begin(self, logs=None):
        batches = (self.images[i:i + self.batch_size] for i in range(0, len(self.images), self.batch_size))
        estimate_bn_statistics(self.model, batches)
        self.estimates += 1
