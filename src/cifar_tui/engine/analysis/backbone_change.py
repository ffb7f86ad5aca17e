"""What fine-tuning changed in the backbone, block by block.

Two measures per block of EfficientNetB0 (stem, blocks 1-7, top), each against the backbone as it was
before training (ImageNet weights, or the run's own random init when it had none):
- relative weight change ||W - W0|| / ||W0|| over the variables the optimiser trained, as recorded when the
  backbone was unfrozen (`trained_variables`): by default convolution and depthwise kernels and biases;
  BatchNorm scale and offset only where they train (random init, `bn_mode = "train"`). Frozen variables
  (BatchNorm gamma/beta over pretrained statistics, the blocks `unfreeze_blocks` leaves frozen, moving
  statistics, the input Normalization constants) cannot change: counted in, their norms diluted the ratio,
  unevenly per block (issue #24);
- debiased linear CKA (unbiased HSIC; see `cifar_tui.engine.analysis.cka`) between the block's output activations
  before and after, on a fixed batch of test images (the same images for both), fed through the model's own
  front (`backbone_input`: what the backbone received in training). Activations are average-pooled to at
  most 8x8 positions first, which keeps the cost small at 224 px.
The "before" weights are saved once into the strategy's checkpoint folder when it starts (`save_start`)
and read back on a resume: a resumed run's fresh build is seeded differently (seed + epoch), so with
`--weights none` it would be another random draw, not this run's start.
Low-level blocks that barely move and high-level blocks that move more is the usual picture: fine-tuning
adapts the later, more task-specific features most.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import keras
import numpy as np

from cifar_tui.engine.analysis.cka import MIN_INPUTS, linear_cka
from cifar_tui.engine.models.backbone import block_index
from cifar_tui.engine.models.preprocessing import backbone_input
from cifar_tui.engine.store.atomic import make_subfolders
from cifar_tui.engine.training.checkpoint_files import BACKBONE_START_FILE

ANALYSIS_IMAGES = 256
MAX_GRID = 8
BLOCK_NAMES = ["stem"] + [f"block{i}" for i in range(1, 8)] + ["top"]


def trained_variables(backbone) -> set[str]:
    """Paths of the backbone's variables the optimiser trains once this phase is compiled: call it after a
    phase's `prepare` (its trainable flags), before its compile."""
    return {v.path for v in backbone.trainable_weights}


def snapshot(backbone) -> dict[str, np.ndarray]:
    return {v.path: np.array(keras.ops.convert_to_numpy(v)) for v in backbone.weights}


def save_start(folder: Path, start: dict[str, np.ndarray]) -> None:
    """Write the backbone's starting weights once (atomically) into a strategy's checkpoint folder."""
    make_subfolders(folder, 2)  # checkpoints/<strategy>, never the run folder itself
    temporary = folder / f".{BACKBONE_START_FILE}.tmp"
    with open(temporary, "wb") as f:
        np.savez(f, names=np.array(list(start)), **{f"v{i}": a for i, a in enumerate(start.values())})
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, folder / BACKBONE_START_FILE)


def load_start(folder: Path, backbone) -> dict[str, np.ndarray] | None:
    """The starting weights `save_start` wrote, or None when missing, unreadable or for another network."""
    try:
        with np.load(folder / BACKBONE_START_FILE) as saved:
            arrays = [saved[f"v{i}"] for i in range(len(saved["names"]))]
    except (OSError, ValueError, KeyError):
        return None
    # Matched by position, like model.get_weights(): auto-named layers (rescaling, normalization) get
    # another name suffix when a process builds the network a second time, so paths can differ.
    variables = backbone.weights
    if len(arrays) != len(variables) or any(a.shape != tuple(v.shape) for a, v in zip(arrays, variables,
                                                                                        strict=True)):
        return None
    return {v.path: a for v, a in zip(variables, arrays, strict=True)}


def start_weights(backbone, folder: Path | None, resumed: bool, label: str,
                  pretrained: bool = True) -> tuple[dict[str, np.ndarray], str]:
    """The "before" weights and their label: saved at the start (into `folder`), read back when `resumed`.
    Pretrained weights load the same either way; a random init without its file is labelled as a re-draw."""
    if resumed and folder is not None:
        saved = load_start(folder, backbone)
        if saved is not None:
            return saved, label
        if not pretrained:
            label += " (the run's start was not saved: a re-drawn init)"
    start = snapshot(backbone)
    if folder is not None and not resumed:
        save_start(folder, start)
    return start, label


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


def weight_change(backbone, start: dict[str, np.ndarray], trained: set[str]) -> dict[str, float]:
    """Block -> ||W - W0|| / ||W0|| over the block's `trained` variables (paths, `trained_variables`); NaN for
    a block none of whose variables trained."""
    sums: dict[str, list[float]] = {}
    for layer in backbone.layers:
        for v in layer.weights:
            before = start.get(v.path)
            if before is None or v.path not in trained:
                continue
            now = np.array(keras.ops.convert_to_numpy(v), dtype=np.float64)
            acc = sums.setdefault(BLOCK_NAMES[block_index(layer.name)], [0.0, 0.0])
            acc[0] += float(np.sum((now - before) ** 2))
            acc[1] += float(np.sum(before.astype(np.float64) ** 2))
    return {name: math.sqrt(d) / math.sqrt(n) if n > 0 else math.nan for name, (d, n) in sums.items()}


def _activations(model, extractor, images: np.ndarray, batch: int = 32) -> list[np.ndarray]:
    outs: list[list[np.ndarray]] = []
    for start in range(0, len(images), batch):
        results = extractor(backbone_input(model, images[start:start + batch]), training=False)
        results = results if isinstance(results, (list, tuple)) else [results]
        outs.append([_pool(np.asarray(keras.ops.convert_to_numpy(r), dtype=np.float32)) for r in results])
    return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]


def _assign(backbone, weights: dict[str, np.ndarray]) -> None:
    for v in backbone.weights:
        v.assign(weights[v.path])


def backbone_change(model, backbone, start: dict[str, np.ndarray], images: np.ndarray, trained: set[str],
                    after: dict[str, np.ndarray] | None = None) -> dict:
    """Per-block relative weight change (the `trained` variables) and debiased linear CKA, `after` (default:
    the backbone's weights now) vs `start`, on `images` (uint8, native size, through `model`'s front; CKA
    needs at least 4, else NaN). The backbone holds its own weights again on return."""
    blocks = _block_outputs(backbone)
    extractor = keras.Model(backbone.inputs, [backbone.get_layer(layer).output for _, layer in blocks])
    current = {v.path: np.array(keras.ops.convert_to_numpy(v)) for v in backbone.weights}
    try:
        if after is not None:
            _assign(backbone, after)
        changes = weight_change(backbone, start, trained)
        tuned = _activations(model, extractor, images)
        _assign(backbone, start)
        before = _activations(model, extractor, images)
    finally:
        _assign(backbone, current)
    names = [name for name, _ in blocks]
    return {
        "blocks": names,
        "weight_change": [changes.get(n, math.nan) for n in names],
        "cka": [linear_cka(b, a) if len(images) >= MIN_INPUTS else math.nan
                for b, a in zip(before, tuned, strict=True)],
        "images": len(images),
    }
