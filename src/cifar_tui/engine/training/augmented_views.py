"""Exact augmented training views for a head trained on cached features (issue #24 section 3).

A frozen backbone in inference mode is a function of its input, so the features of an augmented image are
the features of that image: caching them is exact for any augmentation that happens before the backbone.
The model's `Augment` layer translates (whole pixels, reflect padding) and mirrors uint8 images at their
native size, before `Resize` and the backbone. So each epoch of a cached phase sees each training image
through its own fresh draw of the model's augmentation, made by that layer (`Augment.apply_draw`), and the
head trains on the features of exactly those images: the same augmentation as a live epoch, the same
distribution (each image's translation uniform in [-shift, shift]^2, mirrored with probability 1/2, drawn
independently per image and epoch), at the cost of one extraction per image per epoch (fewer where views
repeat: an unaugmented data set, or flips only, has at most two distinct views per image).

Draws are a function of (seed, epoch, image content), not of the image's position: the same image gets the
same view at epoch e in `frozen` and in `finetune`'s head phase, in every subset that holds it and after a
resume, so those share the cached rows. Another seed draws other views.

Shapes: uint8 (N, h, w, 3) -> a list of uint8 (N, h, w, 3), one per epoch.
"""

from __future__ import annotations

import numpy as np

CHUNK = 4096  # images per call of the layer (bounds the gather's memory)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (Steele et al. 2014) on uint64: a bijection whose output bits look independent."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def draws(digests: np.ndarray, seed: int, epoch: int, shift: int, flip: bool):
    """Per image (its `S16` content digest): offsets (N, 2) int32 in [0, 2 * shift] and mirrored (N, 1) bool
    (None without `flip`), as the `Augment` layer takes them; a function of (seed, epoch, content)."""
    keys = np.frombuffer(np.ascontiguousarray(digests).tobytes(), dtype="<u8").reshape(len(digests), 2)[:, 0]
    stream = _mix(np.array([seed & (2**64 - 1)], np.uint64) * np.uint64(1_000_003) + np.uint64(epoch))
    u = _mix(keys ^ stream)
    side = np.uint64(2 * shift + 1)
    offsets = np.stack([u % side, (u // side) % side], axis=1).astype(np.int32)
    mirrored = ((u // (side * side)) % np.uint64(2) == 1)[:, None] if flip else None
    return offsets, mirrored


def epoch_views(layer, x: np.ndarray, digests: np.ndarray, seed: int, epochs) -> list[np.ndarray]:
    """`x` as the model's `Augment` `layer` (None: no augmentation) shows it in each of `epochs` (1-based)."""
    import keras

    if layer is None or (layer.shift == 0 and not layer.flip):
        return [x for _ in epochs]
    views = []
    for epoch in epochs:
        offsets, mirrored = draws(digests, seed, epoch, layer.shift, layer.flip)
        chunks = [keras.ops.convert_to_numpy(layer.apply_draw(
            x[i:i + CHUNK], offsets[i:i + CHUNK], None if mirrored is None else mirrored[i:i + CHUNK]))
            for i in range(0, len(x), CHUNK)]
        views.append(np.concatenate(chunks) if chunks else x[:0])
    return views
