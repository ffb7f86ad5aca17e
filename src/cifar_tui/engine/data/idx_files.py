"""Readers for the genuine MNIST and Fashion-MNIST files: the IDX format (LeCun et al.), gzipped as shipped
or extracted, and Keras' `mnist.npz`. Nothing in a file is executed and nothing is trusted before it is
checked: sizes against the header, the header against MNIST's shapes, labels against the class count.

IDX (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number `0x00 0x00 <type> <ndim>` (type 0x08:
unsigned bytes), then `ndim` big-endian uint32 sizes, then the data, row-major. Images: ndim 3 (N, 28, 28),
magic 2051; labels: ndim 1 (N,), magic 2049. `mnist.npz` (keras.datasets.mnist): a zip of .npy arrays
`x_train` (60000, 28, 28) uint8, `y_train` (60000,) uint8, `x_test`, `y_test`, read with
`allow_pickle=False` after each array's header has been checked (so a header cannot make us decompress
gigabytes).
"""

from __future__ import annotations

import gzip
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from cifar_tui.engine.errors import DataError

SIDE = 28  # MNIST and Fashion-MNIST images are 28x28 grayscale
MAX_IMAGES = 1_000_000  # far above MNIST's 70,000; a bound on what a damaged header can make us read
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file (`.gz` or not) of unsigned bytes with `ndim` dimensions -> uint8 array of its shape.
    DataError naming the file: not IDX, another type or rank, a size that is not MNIST's, truncated, or
    with bytes after the data."""
    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as f:
            header = f.read(4 + 4 * ndim)
            dims = _check_header(header, ndim, path)
            expected = int(np.prod(dims, dtype=np.int64))
            data = f.read(expected + 1)  # one byte more: a file longer than its header says is not IDX
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as exc:  # not gzip, or a gzip stream cut off
        raise DataError(f"{path}: not a readable IDX file ({type(exc).__name__}: {exc}); download it again") from None
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(f"{path}: {what} ({len(data):,} data bytes, the header declares {expected:,}); "
                        "download it again")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _check_header(header: bytes, ndim: int, path: Path) -> tuple[int, ...]:
    if len(header) < 4 + 4 * ndim or header[:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (no IDX magic number)")
    if header[2] != 0x08 or header[3] != ndim:
        raise DataError(f"{path}: an IDX file of type {header[2]:#04x} with {header[3]} dimensions; MNIST's "
                        f"{'labels' if ndim == 1 else 'images'} are unsigned bytes with {ndim}")
    dims = struct.unpack(f">{ndim}I", header[4:4 + 4 * ndim])
    if not 0 < dims[0] <= MAX_IMAGES or (ndim == 3 and dims[1:] != (SIDE, SIDE)):
        raise DataError(f"{path}: declares {' x '.join(map(str, dims))}; MNIST-style images are N x {SIDE} x "
                        f"{SIDE} with 0 < N <= {MAX_IMAGES:,}")
    return dims


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Keras' `mnist.npz` -> its four arrays, each checked (shape, dtype) from its header before it is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            for key in NPZ_KEYS:
                _check_npy_header(archive, key, path)
        with np.load(path, allow_pickle=False) as npz:
            return {key: np.asarray(npz[key]) for key in NPZ_KEYS}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a readable mnist.npz ({type(exc).__name__}: {exc})") from None


def _check_npy_header(archive: zipfile.ZipFile, key: str, path: Path) -> None:
    try:
        handle = archive.open(f"{key}.npy")
    except KeyError:
        raise DataError(f"{path}: missing array {key!r}; mnist.npz holds {', '.join(NPZ_KEYS)}") from None
    with handle:
        version = np.lib.format.read_magic(handle)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _fortran, dtype = reader(handle)
    images = key.startswith("x_")
    want = (SIDE, SIDE) if images else ()
    if dtype != np.uint8 or len(shape) != 1 + len(want) or tuple(shape[1:]) != want or not 0 < shape[0] <= MAX_IMAGES:
        expected = f"uint8 N x {SIDE} x {SIDE}" if images else "uint8 N"
        raise DataError(f"{path}: {key} is {dtype} {tuple(shape)}; expected {expected}")


def to_rgb32(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) grayscale -> uint8 (N, 32, 32, 3): zero-padded by 2 px on every side (MNIST's and
    Fashion-MNIST's background is 0, so nothing is interpolated: LeNet-5's 32x32 input, LeCun et al. 1998),
    then the gray copied to red, green and blue (what an RGB backbone expects)."""
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return np.ascontiguousarray(np.repeat(padded[..., None], 3, axis=3))
