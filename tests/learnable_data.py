"""A small learnable CIFAR-10 in the genuine python format: each class is a fixed random coarse pattern
(4x4 blocks of 8x8 px, random colours, mirror-symmetric so that CIFAR's flips keep the class), each image its
class's pattern mixed with fresh noise (80/20)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cifar_writers import write_python_folder


def learnable_images(n: int, seed: int, templates_seed: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 32, 32, 3) images and labels cycling through the 10 classes."""
    half = np.random.default_rng(templates_seed).uniform(0, 255, (10, 4, 2, 3))
    templates = np.concatenate([half, half[:, :, ::-1]], axis=2).repeat(8, 1).repeat(8, 2)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = 0.8 * templates[labels] + 0.2 * rng.uniform(0, 255, (n, 32, 32, 3))
    return images.round().astype(np.uint8), labels


def learnable_cifar(root: Path, n_train: int = 300, n_test: int = 100) -> Path:
    return write_python_folder(root / "cifar-10-batches-py", learnable_images(n_train, 1),
                               learnable_images(n_test, 2))
