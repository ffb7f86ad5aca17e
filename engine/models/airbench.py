"""`--scratch-model airbench`: the airbench94 network in Keras, at CIFAR's native 32 px.

Source: Keller Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU" (2024, arXiv 2404.00498) and its
reference code (github.com/KellerJordan/cifar10-airbench, `legacy/airbench94.py`): 94.01% mean test accuracy
over 1,000 runs in ~10 epochs. Written here from the paper and that code; what each trick buys is said
where it is built. The training side (optimiser, schedule, lookahead, alternating flip, test-time
augmentation) is in `engine/training/airbench_recipe.py`.

Shapes: (B, 32, 32, 3) uint8 pixels (the feeder's; its own recipe augments them before the model)
-> `Resize` (float32 in [0, 255]; the identity at 32 px) -> whitening 2x2 conv (B, 31, 31, 24) -> three conv groups
(64, 256, 256 channels; 15, 7, 3 px) -> 3x3 max pool -> (B, 256) -> linear -> logits x 1/9 -> softmax.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from engine.models.preprocessing import Resize, model_input

CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)
WIDTHS = (64, 256, 256)
WHITEN_KERNEL = 2
WHITEN_WIDTH = 2 * 3 * WHITEN_KERNEL**2  # 12 eigen-patches and their negatives
BN_MOMENTUM = 0.6  # the reference's torch momentum 0.4 = Keras' 0.6: fast-moving statistics for a short run
BIAS_SCALER = 64.0  # BatchNorm biases learn 64x faster than the weights (not decayed more)
LOGIT_SCALE = 1 / 9  # tempers the initial logits
# Weight decay 0.0153 "per 1024 examples" at learning rate 11.5, written as an L2 penalty whose gradient
# c*w gives the same decay per step as the reference's SGD weight_decay: c = wd / lr (independent of batch).
L2_GRADIENT = 0.0153 / 11.5
WHITEN_PATCH_IMAGES = 5000  # the reference estimates the patch covariance from 5,000 training images


def gelu(x):
    return keras.activations.gelu(x, approximate=False)  # torch's nn.GELU default: the exact erf form


@keras.saving.register_keras_serializable(package="cifar_tui")
class Dirac(keras.initializers.Initializer):
    """Identity (Dirac) init for the first in-channels filters of a conv, Glorot uniform for the rest.

    Buys: at step 0 each conv group passes its input through, so the deep net starts as a shallow one and
    trains fast from the first step (the reference's `torch.nn.init.dirac_`)."""

    def __call__(self, shape, dtype=None):
        kernel = np.array(keras.initializers.GlorotUniform()(shape, dtype="float32"))
        kh, kw, cin, cout = shape
        for i in range(min(cin, cout)):
            kernel[:, :, :, i] = 0.0
            kernel[kh // 2, kw // 2, i, i] = 1.0
        return ops.convert_to_tensor(kernel, dtype=dtype or "float32")


@keras.saving.register_keras_serializable(package="cifar_tui")
class ScaledBias(layers.Layer):
    """A per-channel bias whose gradient is multiplied by `scale` (value unchanged: s*b - (s-1)*sg(b)).

    With SGD that is a `scale`x learning rate for the bias alone, the reference's `bias_scaler`; its L2
    penalty is taken on the raw variable, so its decay is not scaled. `gate` (0 or 1, set by a callback)
    stops the bias from training at all: the reference trains the whitening bias for 3 epochs only."""

    def __init__(self, scale: float = 1.0, l2: float = 0.0, gated: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.l2, self.gated = scale, l2, gated

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias")
        self.gate = self.add_weight(shape=(), initializer="ones", trainable=False, name="gate")

    def call(self, x):
        b = self.bias
        scaled = self.scale * b - ops.stop_gradient((self.scale - 1.0) * b)
        if self.gated:
            scaled = self.gate * scaled + (1.0 - self.gate) * ops.stop_gradient(b)
            self.add_loss(self.gate * self.l2 * ops.sum(ops.square(b)))
        else:
            self.add_loss(self.l2 * ops.sum(ops.square(b)))
        return x + scaled

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "l2": self.l2, "gated": self.gated}


def _conv_group(x, width: int, l2: float, name: str):
    """conv -> pool -> BN -> GELU -> conv -> BN -> GELU, BN without a learned scale (the reference's)."""
    for i in (1, 2):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=Dirac(),
                          kernel_regularizer=keras.regularizers.L2(l2), name=f"{name}_conv{i}")(x)
        if i == 1:
            x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=1e-12, center=False, scale=False,
                                      name=f"{name}_norm{i}")(x)
        x = ScaledBias(BIAS_SCALER, l2, name=f"{name}_norm{i}_bias")(x)
        x = layers.Activation(gelu, name=f"{name}_gelu{i}")(x)
    return x


def airbench_net(num_classes: int, image_size: int = 32) -> keras.Model:
    """The network; outputs softmax probabilities, with the logits layer named "logits" for TTA."""
    l2 = L2_GRADIENT / 2  # keras' L2(l) penalises l * sum(w^2): its gradient is 2 l w
    inputs = model_input()
    x = layers.Rescaling(1.0 / 255)(Resize(image_size)(inputs))
    x = layers.Normalization(mean=CIFAR_MEAN, variance=CIFAR_STD**2, name="cifar_normalization")(x)
    # Buys: a frozen first layer that decorrelates 2x2 patches, so the rest trains on whitened input.
    x = layers.Conv2D(WHITEN_WIDTH, WHITEN_KERNEL, padding="valid", use_bias=False, trainable=False,
                      name="whiten")(x)
    x = ScaledBias(1.0, l2, gated=True, name="whiten_bias")(x)
    x = layers.Activation(gelu, name="whiten_gelu")(x)
    for i, width in enumerate(WIDTHS, start=1):
        x = _conv_group(x, width, l2, f"block{i}")
    x = layers.MaxPooling2D(3, name="final_pool")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(num_classes, use_bias=False, kernel_regularizer=keras.regularizers.L2(l2), name="head")(x)
    x = layers.Rescaling(LOGIT_SCALE, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="airbench94")


def whitening_kernel(images: np.ndarray, eps: float = 5e-4) -> np.ndarray:
    """The whitening conv's kernel from training images (N, H, W, 3) uint8: shape (2, 2, 3, 24).

    Eigenvectors of the covariance of the normalised 2x2x3 patches, scaled by 1/sqrt(eigenvalue + eps),
    largest first, then their negatives (so GELU keeps both signs of each component)."""
    x = (images[:WHITEN_PATCH_IMAGES].astype(np.float32) / 255 - CIFAR_MEAN) / CIFAR_STD
    k = WHITEN_KERNEL
    h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
    patches = np.stack([x[:, i:i + h, j:j + w, :] for i in range(k) for j in range(k)], axis=3)
    flat = patches.reshape(-1, k * k * 3).astype(np.float64)  # (i, j, channel) order = Keras' kernel order
    covariance = flat.T @ flat / len(flat)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    scaled = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + eps)  # columns: one filter each
    kernel = scaled.reshape(k, k, 3, k * k * 3)
    return np.concatenate([kernel, -kernel], axis=3).astype(np.float32)


def init_whitening(model: keras.Model, images: np.ndarray) -> None:
    model.get_layer("whiten").set_weights([whitening_kernel(images)])
