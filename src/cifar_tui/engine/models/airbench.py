"""`--scratch-model airbench` / `airbench_muon`: the airbench94 network in Keras, at CIFAR's native 32 px.

Source: Keller Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU" (2024, arXiv 2404.00498) and its
reference code (github.com/KellerJordan/cifar10-airbench): `legacy/airbench94.py` (94.01% mean test
accuracy over 1,000 runs in 9.9 epochs) and `airbench94_muon.py` (the same network trained with Muon: 94.01%
over 200 runs in 8 epochs, the current record). Written here from the paper and that code; what each trick
buys is said where it is built. The training side (optimisers, schedules, lookahead, alternating flip,
test-time augmentation) is in `engine/training/airbench_recipe.py`.

Shapes: (B, 32, 32, 3) uint8 pixels (the feeder's; its own recipe augments them before the model)
-> `Resize` (float32 in [0, 255]; the identity at 32 px) -> whitening 2x2 conv (B, 31, 31, 24) -> three conv groups
(64, 256, 256 channels; 15, 7, 3 px) -> 3x3 max pool -> (B, 256) -> linear -> logits x 1/9 (airbench94) or
x 1/256 (muon, whose head starts at unit standard deviation) -> softmax.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from cifar_tui.engine.models.preprocessing import Resize, model_input

CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)
WIDTHS = (64, 256, 256)
WHITEN_KERNEL = 2
WHITEN_WIDTH = 2 * 3 * WHITEN_KERNEL**2  # 12 eigen-patches and their negatives
BN_MOMENTUM = 0.6  # the reference's torch momentum 0.4 = Keras' 0.6: fast-moving statistics for a short run
WHITEN_PATCH_IMAGES = 5000  # the reference estimates the patch covariance from 5,000 training images
VARIANTS = {"airbench": "airbench94", "airbench_muon": "airbench94_muon"}  # scratch_model -> network name


def gelu(x):
    return keras.activations.gelu(x, approximate=False)  # torch's nn.GELU default: the exact erf form


def torch_default():
    """torch's default init of Conv2d and Linear weights and biases: kaiming_uniform(a=sqrt(5)), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)); Keras' fan_in of a conv kernel is kh x kw x in, as torch's."""
    return keras.initializers.VarianceScaling(scale=1 / 3, mode="fan_in", distribution="uniform")


@keras.saving.register_keras_serializable(package="cifar_tui")
class Dirac(keras.initializers.Initializer):
    """Identity (Dirac) init for the first in-channels filters of a conv, torch's default for the rest.

    Buys: at step 0 each conv group passes its input through, so the deep net starts as a shallow one and
    trains fast from the first step (the reference's `torch.nn.init.dirac_` after torch's default init)."""

    def __call__(self, shape, dtype=None):
        kernel = np.array(torch_default()(shape, dtype="float32"))
        kh, kw, cin, cout = shape
        for i in range(min(cin, cout)):
            kernel[:, :, :, i] = 0.0
            kernel[kh // 2, kw // 2, i, i] = 1.0
        return ops.convert_to_tensor(kernel, dtype=dtype or "float32")


@keras.saving.register_keras_serializable(package="cifar_tui")
class UnitStd(keras.initializers.Initializer):
    """torch's default init rescaled to unit standard deviation (airbench94_muon's head: `w *= 1 / w.std()`)."""

    def __call__(self, shape, dtype=None):
        kernel = np.array(torch_default()(shape, dtype="float32"))
        return ops.convert_to_tensor(kernel / kernel.std(ddof=1), dtype=dtype or "float32")


@keras.saving.register_keras_serializable(package="cifar_tui")
class Bias(layers.Layer):
    """A per-channel bias: the whitening conv's, trained (by its own optimiser group) while the kernel is frozen."""

    def __init__(self, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer=self.initializer, name="bias")

    def call(self, x):
        return x + self.bias

    def get_config(self):
        return {**super().get_config(), "initializer": keras.initializers.serialize(self.initializer)}


def _conv_group(x, width: int, name: str):
    """conv -> pool -> BN -> GELU -> conv -> BN -> GELU; BN learns a bias, no scale (the reference's)."""
    for i in (1, 2):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=Dirac(),
                          name=f"{name}_conv{i}")(x)
        if i == 1:
            x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=1e-12, center=True, scale=False,
                                      name=f"{name}_norm{i}")(x)
        x = layers.Activation(gelu, name=f"{name}_gelu{i}")(x)
    return x


def airbench_net(num_classes: int, image_size: int = 32, variant: str = "airbench") -> keras.Model:
    """The network (`variant`: a key of VARIANTS); outputs softmax probabilities, with the logits layer
    named "logits" for TTA. No weight carries a penalty: the weight decay is the optimiser's."""
    muon = variant == "airbench_muon"
    inputs = model_input()
    x = layers.Rescaling(1.0 / 255)(Resize(image_size)(inputs))
    x = layers.Normalization(mean=CIFAR_MEAN, variance=CIFAR_STD**2, name="cifar_normalization")(x)
    # Buys: a frozen first layer that decorrelates 2x2 patches, so the rest trains on whitened input.
    x = layers.Conv2D(WHITEN_WIDTH, WHITEN_KERNEL, padding="valid", use_bias=False, trainable=False,
                      name="whiten")(x)
    # airbench94 zeroes the whitening bias; airbench94_muon keeps nn.Conv2d's default bias init (fan_in 12)
    bias_init = keras.initializers.RandomUniform(-12**-0.5, 12**-0.5) if muon else "zeros"
    x = Bias(bias_init, name="whiten_bias")(x)
    x = layers.Activation(gelu, name="whiten_gelu")(x)
    for i, width in enumerate(WIDTHS, start=1):
        x = _conv_group(x, width, f"block{i}")
    x = layers.MaxPooling2D(3, name="final_pool")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(num_classes, use_bias=False, kernel_initializer=UnitStd() if muon else torch_default(),
                     name="head")(x)
    # Tempers the initial logits: airbench94 x 1/9; airbench94_muon divides by the 256 features
    x = layers.Rescaling(1 / WIDTHS[-1] if muon else 1 / 9, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=VARIANTS[variant])


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
