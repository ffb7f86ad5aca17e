"""What fine-tuning changed in the backbone, block by block.

Two measures per block of EfficientNetB0 (stem, blocks 1-7, top), each against the backbone as it was
before training (ImageNet weights, or the random init when a run had none):
- relative weight change ||W - W0|| / ||W0|| over the block's variables (BatchNorm statistics included:
  they do not move when BN stays in inference mode, which is part of the point);
- linear CKA between the block's output activations before and after, on a fixed batch of test images
  (the same images for both). Activations are average-pooled to at most 8x8 positions first, which keeps
  the cost small at 224 px.
Low-level blocks that barely move and high-level blocks that move more is the usual picture: fine-tuning
adapts the later, more task-specific features most.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from engine.analysis.cka import linear_cka
from engine.data.pipeline import resize_batch
from engine.models.backbone import block_index

ANALYSIS_IMAGES = 256
MAX_GRID = 8
BLOCK_NAMES = ["stem"] + [f"block{i}" for i in range(1, 8)] + ["top"]


def snapshot(backbone) -> dict[str, np.ndarray]:
    return {v.path: np.array(keras.ops.convert_to_numpy(v)) for v in backbone.weights}


def _pool(a: np.ndarray) -> np.ndarray:
    """(n, h, w, c) -> (n, <=8, <=8, c) by averaging windows; other shapes are returned as they are."""
    if a.ndim != 4 or a.shape[1] <= MAX_GRID:
        return a
    f = math.ceil(a.shape[1] / MAX_GRID)
    h, w = (a.shape[1] // f) * f, (a.shape[2] // f) * f
    a = a[:, :h, :w]
    return a.reshape(a.shape[0], h // f, f, w // f, f, a.shape[3]).mean(axis=(2, 4))


def _block_outputs(backbone) -> list[tuple[str, str]]:
    """(block name, name of the block's last layer), in network order."""
    last: dict[int, str] = {}
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        last[block_index(layer.name)] = layer.name  # layers come in network order: the last one wins
    return [(BLOCK_NAMES[i], last[i]) for i in sorted(last)]


def weight_change(backbone, start: dict[str, np.ndarray]) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for layer in backbone.layers:
        for v in layer.weights:
            before = start.get(v.path)
            if before is None:
                continue
            now = np.array(keras.ops.convert_to_numpy(v), dtype=np.float64)
            acc = sums.setdefault(BLOCK_NAMES[block_index(layer.name)], [0.0, 0.0])
            acc[0] += float(np.sum((now - before) ** 2))
            acc[1] += float(np.sum(before.astype(np.float64) ** 2))
    return {name: math.sqrt(d) / math.sqrt(n) if n > 0 else math.nan for name, (d, n) in sums.items()}


def _activations(extractor, images: np.ndarray, size: int, divide: bool, batch: int = 32) -> list[np.ndarray]:
    outs: list[list[np.ndarray]] = []
    for start in range(0, len(images), batch):
        x = resize_batch(images[start:start + batch], size)
        if divide:
            x = x / 255.0
        results = extractor(x, training=False)
        results = results if isinstance(results, (list, tuple)) else [results]
        outs.append([_pool(np.asarray(keras.ops.convert_to_numpy(r), dtype=np.float32)) for r in results])
    return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]


def backbone_change(backbone, start: dict[str, np.ndarray], images: np.ndarray, size: int,
                    input_scaling: str) -> dict:
    """Per-block weight change and CKA (after vs `start`) on `images` (uint8, native size)."""
    blocks = _block_outputs(backbone)
    extractor = keras.Model(backbone.inputs, [backbone.get_layer(layer).output for _, layer in blocks])
    divide = input_scaling == "unit"  # what the backbone really saw during training
    after = _activations(extractor, images, size, divide)
    tuned = {v.path: np.array(keras.ops.convert_to_numpy(v)) for v in backbone.weights}
    changes = weight_change(backbone, start)
    try:
        for v in backbone.weights:
            v.assign(start[v.path])
        before = _activations(extractor, images, size, divide)
    finally:
        for v in backbone.weights:
            v.assign(tuned[v.path])
    names = [name for name, _ in blocks]
    return {
        "blocks": names,
        "weight_change": [changes.get(n, math.nan) for n in names],
        "cka": [linear_cka(b, a) for b, a in zip(before, after, strict=True)],
        "images": len(images),
    }
