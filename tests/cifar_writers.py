"""Write small CIFAR-10 data sets in the genuine file formats, byte for byte as the originals are laid out.

The python version's pickles were written by Python 2 with numpy 1.x, so they name
`numpy.core.multiarray._reconstruct` and store the pixel buffer and the dict keys as Python 2 `str`
(SHORT_BINSTRING / BINSTRING opcodes). We emit those opcodes by hand: `pickle.dumps` under Python 3 and
numpy 2 would name `numpy._core` and `_codecs.encode` instead, and would not test what users have.
"""

from __future__ import annotations

import io
import struct
import tarfile
from pathlib import Path

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def make_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images (N, 32, 32, 3) and labels cycling through all 10 classes."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 10


def to_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) -> (N, 3072): red plane, then green, then blue, each row-major."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


# --- Python 2 pickle opcodes (protocol 2) --------------------------------------------------------------
def _str(b: bytes) -> bytes:  # a Python 2 str
    return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)


def _int(i: int) -> bytes:
    return b"K" + bytes([i]) if 0 <= i < 256 else b"J" + struct.pack("<i", i)


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _ndarray_uint8(rows: np.ndarray) -> bytes:
    out = _global("numpy.core.multiarray", "_reconstruct") + _global("numpy", "ndarray")
    out += _int(0) + b"\x85" + _str(b"b") + b"\x87" + b"R"  # _reconstruct(ndarray, (0,), 'b')
    dtype = _global("numpy", "dtype") + _str(b"u1") + _int(0) + _int(1) + b"\x87" + b"R"
    dtype += b"(" + _int(3) + _str(b"|") + b"NNN" + _int(-1) + _int(-1) + _int(0) + b"t" + b"b"
    shape = b"(" + b"".join(_int(d) for d in rows.shape) + b"t"
    state = b"(" + _int(1) + shape + dtype + b"\x89" + _str(np.ascontiguousarray(rows).tobytes()) + b"t"
    return out + state + b"b"


def py2_pickle(entries: dict[bytes, object]) -> bytes:
    body = b""
    for key, value in entries.items():
        body += _str(key)
        if isinstance(value, np.ndarray):
            body += _ndarray_uint8(value)
        elif isinstance(value, list):
            body += b"]" + (b"(" + b"".join(_str(v) if isinstance(v, bytes) else _int(v) for v in value) + b"e"
                            if value else b"")
        else:
            body += _str(value)  # type: ignore[arg-type]
    return b"\x80\x02}(" + body + b"u."


# --- the three layouts -----------------------------------------------------------------------------------
def batch_bytes(images: np.ndarray, labels: np.ndarray, label: str = "training batch") -> bytes:
    return py2_pickle({b"batch_label": label.encode(), b"labels": [int(v) for v in labels],
                       b"data": to_rows(images), b"filenames": [b"img%d.png" % i for i in range(len(labels))]})


def write_python_folder(folder: Path, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
                        classes: list[str] = CLASSES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    chunks = np.array_split(np.arange(len(train[1])), 5)
    for i, idx in enumerate(chunks, start=1):
        (folder / f"data_batch_{i}").write_bytes(batch_bytes(train[0][idx], train[1][idx]))
    (folder / "test_batch").write_bytes(batch_bytes(test[0], test[1], "testing batch"))
    (folder / "batches.meta").write_bytes(py2_pickle({b"label_names": [c.encode() for c in classes],
                                                      b"num_cases_per_batch": b"10000"}))
    return folder


def write_binary_folder(folder: Path, train, test, classes: list[str] = CLASSES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)

    def records(images, labels):
        return np.concatenate([np.asarray(labels, np.uint8)[:, None], to_rows(images)], axis=1).tobytes()

    chunks = np.array_split(np.arange(len(train[1])), 5)
    for i, idx in enumerate(chunks, start=1):
        (folder / f"data_batch_{i}.bin").write_bytes(records(train[0][idx], train[1][idx]))
    (folder / "test_batch.bin").write_bytes(records(*test))
    (folder / "batches.meta.txt").write_text("\n".join(classes) + "\n\n")
    return folder


def write_tar_gz(archive: Path, python_folder: Path, extra_members: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(python_folder.iterdir()):
            tar.add(path, arcname=f"cifar-10-batches-py/{path.name}")
        for name, data in (extra_members or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def tiny_cifar(root: Path, n_train: int = 100, n_test: int = 40) -> Path:
    """A small genuine-format CIFAR-10 python folder; returns its path."""
    return write_python_folder(root / "cifar-10-batches-py", make_images(n_train, 1), make_images(n_test, 2))
