"""Write small copies of CIFAR-100, MNIST, Fashion-MNIST and image folders in their genuine on-disk formats.

- CIFAR-100: `cifar-100-python/{train,test,meta}`, Python 2 pickles with bytes keys as the release's (the
  opcodes of tests/cifar_writers.py), optionally packed as `cifar-100-python.tar.gz`;
- MNIST / Fashion-MNIST: the four IDX files, gzipped as published (magic 2051 / 2049, big-endian sizes), or
  Keras' `mnist.npz` (`np.savez` of x_train, y_train, x_test, y_test);
- image folders: PNG and JPEG files of several sizes and modes, one folder per class.
"""

from __future__ import annotations

import gzip
import struct
import tarfile
from pathlib import Path

import numpy as np
from cifar_writers import py2_pickle, to_rows

FINE = [f"fine{i:02d}" for i in range(100)]
COARSE = [f"coarse{i:02d}" for i in range(20)]


def cifar100_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images (n, 32, 32, 3), fine labels cycling 0..99, coarse = fine // 5)."""
    rng = np.random.default_rng(seed)
    fine = np.arange(n) % 100
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), fine, fine // 5


def cifar100_bytes(images: np.ndarray, fine: np.ndarray, coarse: np.ndarray, label: str = "training") -> bytes:
    return py2_pickle({b"filenames": [b"x_%d.png" % i for i in range(len(fine))], b"batch_label": label.encode(),
                       b"fine_labels": [int(v) for v in fine], b"coarse_labels": [int(v) for v in coarse],
                       b"data": to_rows(images)})


def write_cifar100(folder: Path, n_train: int = 200, n_test: int = 100) -> tuple[tuple, tuple]:
    """`folder` becomes a cifar-100-python folder; returns the (images, fine, coarse) of train and test."""
    folder.mkdir(parents=True, exist_ok=True)
    train, test = cifar100_split(n_train, 1), cifar100_split(n_test, 2)
    (folder / "train").write_bytes(cifar100_bytes(*train))
    (folder / "test").write_bytes(cifar100_bytes(*test, label="testing"))
    (folder / "meta").write_bytes(py2_pickle({b"fine_label_names": [n.encode() for n in FINE],
                                              b"coarse_label_names": [n.encode() for n in COARSE]}))
    return train, test


def pack(archive: Path, folder: Path, top: str) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=f"{top}/{path.name}")
    return archive


def digit_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 28, 28) on a black background, labels cycling 0..9: class k lights a k-dependent bar."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = np.zeros((n, 28, 28), np.uint8)
    for i, k in enumerate(labels):
        images[i, 4 + 2 * k: 6 + 2 * k, 6:22] = 255
        speckle = rng.integers(0, 40, (28, 28)).astype(np.uint8) * (rng.random((28, 28)) < 0.05)
        images[i] = np.maximum(images[i], speckle)
    return images, labels.astype(np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    magic = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    return magic + struct.pack(f">{array.ndim}I", *array.shape) + np.ascontiguousarray(array, np.uint8).tobytes()


def write_idx(folder: Path, n_train: int = 100, n_test: int = 50, gz: bool = True) -> tuple[tuple, tuple]:
    folder.mkdir(parents=True, exist_ok=True)
    train, test = digit_images(n_train, 1), digit_images(n_test, 2)
    files = {"train-images-idx3-ubyte": train[0], "train-labels-idx1-ubyte": train[1],
             "t10k-images-idx3-ubyte": test[0], "t10k-labels-idx1-ubyte": test[1]}
    for name, array in files.items():
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return train, test


def write_npz(path: Path, n_train: int = 100, n_test: int = 50) -> tuple[tuple, tuple]:
    path.parent.mkdir(parents=True, exist_ok=True)
    train, test = digit_images(n_train, 1), digit_images(n_test, 2)
    with open(path, "wb") as f:
        np.savez(f, x_train=train[0], y_train=train[1], x_test=test[0], y_test=test[1])
    return train, test


def write_image_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog", "owl"), per_class: int = 10,
                       sizes: tuple[tuple[int, int], ...] = ((40, 30), (64, 64), (20, 50))) -> Path:
    """One folder per class of PNG and JPEG files of several sizes (RGB, grayscale): class k is mostly colour k."""
    from PIL import Image

    colours = [(220, 40, 40), (40, 200, 60), (50, 60, 230), (200, 200, 40)]
    rng = np.random.default_rng(7)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            w, h = sizes[i % len(sizes)]
            pixels = np.clip(np.array(colours[k % 4]) + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
            image = Image.fromarray(pixels)
            if i % 4 == 3:
                image.convert("L").save(root / name / f"img{i:03d}.png")
            elif i % 2:
                image.save(root / name / f"img{i:03d}.jpg", quality=95)
            else:
                image.save(root / name / f"img{i:03d}.png")
    return root
