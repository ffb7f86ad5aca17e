"""Readers for the genuine CIFAR-10 file formats, written so that a file can never run code.

The python version (`cifar-10-batches-py/`) is a set of pickles written by Python 2 with numpy 1.x.
`pickle.load` would execute whatever a file asks for, so we unpickle with an allowlist of the globals
that rebuild numeric arrays and numbers (what the genuine files and honest Python 3 re-saves name), each
replaced by a checked version: an array must carry exactly the bytes its shape declares. The binary
version (`cifar-10-batches-bin/`) is 3073-byte records: one label byte, then 1024 red, 1024 green and 1024
blue bytes, row-major. Both decode to uint8 (N, 32, 32, 3) images and int64 labels; every problem names
the file.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from cifar_tui.engine.errors import DataError

PIXELS = 32 * 32 * 3
RECORD = 1 + PIXELS
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
BIN_TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
BIN_TEST_FILE = "test_batch.bin"
BIN_META_FILE = "batches.meta.txt"


try:  # numpy 2 moved the module; genuine files name the numpy 1 path
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats: never objects, strings or records


class _Refused(Exception):
    """What a file asked for that a data file never needs; the message completes '<file>: refusing to load: '."""


def _numeric_dtype(spec: Any) -> np.dtype:
    if not isinstance(spec, (str, bytes, np.dtype)):
        raise _Refused(f"the file asks for a numpy dtype built from {type(spec).__name__}; only plain numeric "
                       "dtypes are read")
    dtype = np.dtype(spec.decode("latin-1") if isinstance(spec, bytes) else spec)
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None:
        raise _Refused(f"the file asks for numpy dtype {dtype}; only numeric arrays are read")
    return dtype


class _NdarrayClass:
    """Stands for `numpy.ndarray` in a pickle. Genuine files only pass it to `_reconstruct`, then fill the
    array from bytes they carry; calling it directly makes an array of uninitialised memory."""

    def __call__(self, *args, **kwargs):
        call = ", ".join(repr(a.decode("latin-1") if isinstance(a, bytes) else a) for a in args)[:60]
        raise _Refused(f"the file asks for numpy.ndarray({call}) without the array's bytes (an array must "
                       "carry its bytes)")


_NDARRAY = _NdarrayClass()


def _safe_reconstruct(cls, shape, dtype_code):
    """numpy's `_reconstruct`, always empty: the array's shape and bytes come from its pickled state, where
    numpy checks that the bytes fill the shape exactly."""
    if cls is not _NDARRAY:
        raise _Refused("the file asks numpy to rebuild something that is not a plain array")
    return _reconstruct(np.ndarray, (0,), b"b")


def _safe_frombuffer(buffer, dtype, shape, order="C"):
    """What a protocol-5 pickle (Python 3.8+) calls to rebuild an array from in-band bytes."""
    if not isinstance(buffer, (bytes, bytearray)):
        raise _Refused("the file asks for an array without its bytes in the file")
    dtype = _numeric_dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    if count * dtype.itemsize != len(buffer):
        raise _Refused(f"an array declares shape {tuple(shape)} of {dtype} ({count * dtype.itemsize:,} bytes) "
                       f"but carries {len(buffer):,} bytes")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order)


def _safe_scalar(dtype, data=None):
    """A numpy number (labels re-saved as numpy integers): its dtype and exactly its bytes."""
    dtype = _numeric_dtype(dtype)
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise _Refused(f"a numpy {dtype} number does not carry its {dtype.itemsize} bytes")
    return np.frombuffer(data, dtype=dtype)[0]


def _safe_dtype(spec, align=False, copy=False):
    return np.dtype(_numeric_dtype(spec), bool(align), bool(copy))


def _latin1_encode(text, encoding="latin1"):
    """Python 3 pickles bytes with protocol <= 2 as `_codecs.encode(str, 'latin1')`."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"the file asks _codecs.encode for {encoding!r}; only latin1 bytes are read")
    return text.encode("latin-1")


# Only what rebuilds numeric arrays, numbers and bytes: what Python 2 / numpy 1 wrote (the genuine files),
# and what Python 3 / numpy 1 or 2 write when re-saving them (protocol 2 to 5).
_ALLOWED: dict[tuple[str, str], Any] = {
    **{(m, "_reconstruct"): _safe_reconstruct for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): _safe_scalar for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "_frombuffer"): _safe_frombuffer for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _safe_dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"the file asks for {module}.{name}; a data file only needs numpy arrays and "
                           "numbers, and nothing else is run while reading one") from None


def unpickle(data: bytes, label: str, what: str = "CIFAR-10 batch file") -> dict[bytes, Any]:
    """Safely unpickle one python-format file's bytes (CIFAR-10's batches, CIFAR-100's train/test/meta) into
    its dict (keys are bytes or str); `what` names the kind of file in messages.

    Raises DataError naming the file: for what it asks for beyond numeric arrays and numbers, for an array
    whose bytes do not fill its declared shape, or for a file that is not a readable pickle."""
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except _Refused as exc:
        raise DataError(f"{label}: refusing to load: {exc}") from None
    except Exception as exc:  # truncated, corrupt, not a pickle at all, bytes that do not fill a shape
        raise DataError(f"{label}: not a readable {what} ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{label}: not a {what} (expected a dict, found {type(obj).__name__})")
    return obj


def parse_python_batch(data: bytes, label: str) -> tuple[np.ndarray, np.ndarray]:
    """One `data_batch_N` / `test_batch` file's bytes -> (images uint8 N x 32 x 32 x 3, labels int64 N)."""
    obj = unpickle(data, label)
    labels = entry(obj, "labels")
    if labels is None:
        raise DataError(f"{label}: missing 'data' or 'labels' entry")
    raw = pixel_rows(obj, label)
    return images_from_planes(raw, label), check_labels(labels, len(raw), label)


def entry(obj: dict, key: str) -> Any:
    """A dict entry under its bytes key (Python 2 files) or its str key (Python 3 re-saves); None if absent."""
    return obj.get(key.encode(), obj.get(key))


def pixel_rows(obj: dict, label: str) -> np.ndarray:
    """The checked 'data' entry of an unpickled CIFAR-10/100 file: uint8 (N, 3072)."""
    raw = entry(obj, "data")
    if raw is None:
        raise DataError(f"{label}: missing 'data' or 'labels' entry")
    if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8 or raw.ndim != 2 or raw.shape[1] != PIXELS:
        shape = getattr(raw, "shape", None)
        dtype = getattr(raw, "dtype", type(raw).__name__)
        raise DataError(f"{label}: 'data' must be uint8 N x {PIXELS}, found {dtype} {shape}")
    return raw


def parse_python_meta(data: bytes, label: str) -> list[str]:
    obj = unpickle(data, label)
    names = obj.get(b"label_names", obj.get("label_names"))
    if not isinstance(names, list) or len(names) != 10:
        raise DataError(f"{label}: 'label_names' must list 10 class names")
    return [clean_class_name(n, label) for n in names]


def parse_binary_batch(data: bytes, label: str) -> tuple[np.ndarray, np.ndarray]:
    """One `data_batch_N.bin` / `test_batch.bin` file's bytes -> (images, labels)."""
    if not data or len(data) % RECORD:
        raise DataError(
            f"{label}: size {len(data)} bytes is not a whole number of {RECORD}-byte CIFAR-10 records "
            "(truncated or not a CIFAR-10 binary file)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    return images_from_planes(records[:, 1:], label), check_labels(records[:, 0], len(records), label)


def parse_binary_meta(data: bytes, label: str = BIN_META_FILE) -> list[str]:
    """`batches.meta.txt`: one class name a line (a BOM from an editor's "UTF-8 with BOM" is dropped)."""
    text = decode_names(data, label)
    return [name for name in (clean_class_name(line, label) for line in text.splitlines()) if name]


def decode_names(data: bytes, label: str) -> str:
    """UTF-8 text (BOM allowed); another encoding is refused naming the file, never turned into '?' names."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{label}: class names are not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                        f"{exc.start}); save the file as UTF-8") from None


def clean_class_name(name: str | bytes, label: str) -> str:
    """One class name as stored: without a byte-order mark or surrounding whitespace."""
    text = decode_names(name, label) if isinstance(name, bytes) else str(name)
    return text.replace("\ufeff", "").strip()


def images_from_planes(raw: np.ndarray, label: str) -> np.ndarray:
    if len(raw) == 0:
        raise DataError(f"{label}: holds no images")
    # N x 3072 -> N x 3 x 32 x 32 (planes) -> N x 32 x 32 x 3 (channels last), copied contiguous.
    return np.ascontiguousarray(raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def check_labels(labels: Any, n: int, label: str, num_classes: int = 10) -> np.ndarray:
    """`labels` as int64 (n,), each a class id in 0..num_classes-1; DataError naming the file otherwise."""
    try:
        arr = np.asarray(labels)
    except Exception:
        raise DataError(f"{label}: labels are not a list of integers") from None
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(f"{label}: {len(arr) if arr.ndim == 1 else 'malformed'} labels for {n} images")
    if not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"{label}: labels must be integers, found {arr.dtype}")
    if arr.min() < 0 or arr.max() > num_classes - 1:
        raise DataError(f"{label}: labels must be in 0..{num_classes - 1}, found {int(arr.min())}..{int(arr.max())}")
    return arr.astype(np.int64)


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
