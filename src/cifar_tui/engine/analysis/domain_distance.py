"""How far a data set is from ImageNet, as the pretrained backbone sees it, measured without an ImageNet image.

Every BatchNorm layer of the pretrained EfficientNetB0 stores the mean and variance, per channel, of its
input over ImageNet's training images (its moving statistics): the backbone carries ImageNet's feature
statistics, layer by layer. A data set's images, run through the same backbone in inference mode, give
their own per-channel mean and variance at each of those layers. The distance compares the two:

    D = (1/L) sum_l (1/C_l) sum_c KL( N(m_lc, v_lc + eps) || N(M_lc, V_lc + eps) )      [nats]

with m, v the data set's statistics of the BatchNorm input (over images and positions), M, V the layer's
moving mean and variance, eps the layer's own epsilon (1e-3), KL the divergence between one-dimensional
Gaussians, 0.5 * (log(V/v) + (v + (m - M)^2) / V - 1), averaged over the C_l channels of each of the L = 49
layers. It is the diagonal-Gaussian form of DeepInversion's feature-distribution regulariser (Yin et al.
2020, "Dreaming to Distill", which matches exactly these statistics to synthesise ImageNet-like images),
made scale-free per channel by the KL. 0 means the data set's features are distributed as ImageNet's at
every layer; digits on black backgrounds or flat medical scans score far higher than photographs.

It depends only on the images (a fixed sample of `SAMPLE_IMAGES` training images, the same in every run
of a data set: engine/data/splits.py; labels are not used), the backbone's weights and the input size (the
images are resized as the transfer strategies resize them, [0, 255] as EfficientNet expects), never on
the accuracies it is used to explain. With random-init weights the BatchNorm statistics are 0 and 1, not
ImageNet's, and the measure is meaningless: it is then recorded as not measured, with that reason.
"""

from __future__ import annotations

import numpy as np

DEFINITION = ("mean over EfficientNetB0's 49 BatchNorm layers of the mean over channels of KL(N(m, v+eps) || "
              "N(M, V+eps)): m, v the data set's per-channel mean and variance of the layer's input, M, V its "
              "ImageNet moving statistics (nats; 0 = ImageNet-like)")
BATCH = 32


def statistics_model(backbone):
    """A model (B, H, W, 3) float -> per BatchNorm layer, (per-image spatial mean, per-image spatial mean of
    squares) of that layer's input, each (B, C). Also returns the BatchNorm layers, in the same order."""
    import keras
    from keras import layers, ops

    norms = [layer for layer in backbone.layers if isinstance(layer, layers.BatchNormalization)]
    outputs = []
    for layer in norms:
        x = ops.cast(layer.input, "float32")
        outputs += [ops.mean(x, axis=(1, 2)), ops.mean(ops.square(x), axis=(1, 2))]
    return keras.Model(backbone.input, outputs), norms


def layer_statistics(stats_model, images: np.ndarray,
                     prepare=lambda batch: batch) -> list[tuple[np.ndarray, np.ndarray]]:
    """(mean, variance) per channel of each BatchNorm input over `images` and positions; `prepare` turns a
    batch of `images` into the backbone's input (the transfer strategies' resize)."""
    import keras

    # TensorFlow and PyTorch run the model eagerly (no graph to trace for a model used once per run); JAX
    # compiles it once (op by op, eagerly, it was 3x slower than compiled even for 40 images)
    compiled = keras.backend.backend() == "jax"
    sums: list[np.ndarray] | None = None
    for start in range(0, len(images), BATCH):
        chunk = images[start:start + BATCH]
        n = len(chunk)
        if compiled and n < BATCH:  # one compiled shape: the last batch padded with repeats, left out below
            chunk = np.concatenate([chunk, chunk[np.arange(BATCH - n) % n]])
        inputs = prepare(chunk)
        outs = stats_model.predict_on_batch(inputs) if compiled else stats_model(inputs, training=False)
        totals = [np.asarray(o, dtype=np.float64)[:n].sum(axis=0) for o in outs]
        sums = totals if sums is None else [a + b for a, b in zip(sums, totals, strict=True)]
    if sums is None:
        raise ValueError("no images to measure")
    n = len(images)
    return [(sums[i] / n, np.maximum(sums[i + 1] / n - (sums[i] / n) ** 2, 0.0)) for i in range(0, len(sums), 2)]


def gaussian_kl(m: np.ndarray, v: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """KL(N(m, v) || N(mean, var)) per channel, in nats."""
    return 0.5 * (np.log(var / v) + (v + (m - mean) ** 2) / var - 1.0)


def distance(backbone, images: np.ndarray, prepare=lambda batch: batch) -> tuple[float, list[float], list[str]]:
    """(D, the per-layer KLs, the layers' names) for `images` (`prepare`d per batch to the backbone's input)."""
    model, norms = statistics_model(backbone)
    per_layer = []
    for layer, (m, v) in zip(norms, layer_statistics(model, images, prepare), strict=True):
        eps = float(layer.epsilon)
        mean = np.asarray(layer.moving_mean, dtype=np.float64)
        var = np.asarray(layer.moving_variance, dtype=np.float64)
        per_layer.append(float(gaussian_kl(m, v + eps, mean, var + eps).mean()))
    return float(np.mean(per_layer)), per_layer, [layer.name for layer in norms]


def measure(images: np.ndarray, image_size: int, weights, report=lambda _text: None) -> dict:
    """The record of a data set's distance from ImageNet: uint8 `images` (N, 32, 32, 3), resized to
    `image_size` as the transfer strategies resize them, through EfficientNetB0 with `weights` (a
    WeightsChoice, or None when the run has no backbone). `value` is None, with `why`, when not measured."""
    import time

    entry = {"definition": DEFINITION, "images": int(len(images)), "image_size": int(image_size)}
    if weights is None or not weights.pretrained:
        why = ("no strategy of this run uses the pretrained backbone" if weights is None else
               "the backbone has random-init weights, whose BatchNorm statistics are 0 and 1, not ImageNet's: "
               "the distance would be meaningless")
        return {**entry, "value": None, "why": f"not measured: {why}"}
    import keras

    from cifar_tui.engine.models.backbone import block_index, build_backbone
    from cifar_tui.engine.models.preprocessing import Resize

    report(f"measuring the data set's distance from ImageNet on {len(images)} training images at {image_size} px")
    started = time.perf_counter()
    keras.mixed_precision.set_dtype_policy("float32")
    backbone = build_backbone(image_size, weights)
    resize = Resize(image_size)
    value, per_layer, names = distance(backbone, images, lambda batch: np.asarray(resize(batch)))
    blocks: dict[str, list[float]] = {}
    for name, kl in zip(names, per_layer, strict=True):
        index = block_index(name)
        blocks.setdefault("stem" if index == 0 else "top" if index == 8 else f"block{index}", []).append(kl)
    del backbone
    return {**entry, "value": value, "weights": weights.label, "layers": len(per_layer),
            "per_block": {block: float(np.mean(kls)) for block, kls in blocks.items()},
            "seconds": round(time.perf_counter() - started, 1)}
