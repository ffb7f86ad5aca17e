"""Where CIFAR-10 comes from: a local copy in any genuine format, Keras' cache, Keras' download; and
scikit-learn's bundled digits. The other data sets live beside it (engine/data/catalog.py names them all).

CIFAR-10 is looked for in this order: `--data-dir` (an extracted `cifar-10-batches-py/`, the
`cifar-10-python.tar.gz`, or an extracted `cifar-10-batches-bin/`, at any level a user is likely to point
at: see engine/data/layouts.py), then Keras' cache under `$KERAS_HOME` (default `~/.keras`, both the Keras 3
and the Keras 2 layouts: extracted folders, then the cached archive, checksum-verified), then a download into
that cache (`engine/runtime/download.py`: verified, and never over or instead of a file that is there). Archives are
read in memory, never extracted, and every file goes through the restricted readers of `cifar_files`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cifar_tui.engine.data import cifar_files as cf
from cifar_tui.engine.data.archives import Release, read_members
from cifar_tui.engine.data.keras_cache import cache_dir, cached, download_or_explain, keras_home  # noqa: F401 (backbone)
from cifar_tui.engine.data.layouts import locate_in
from cifar_tui.engine.errors import DataError
from cifar_tui.engine.runtime.download import download

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_TAR_BYTES = 170_498_071  # the size of the genuine cifar-10-python.tar.gz
CIFAR10_RELEASE = Release("cifar-10-python.tar.gz", CIFAR10_URL, CIFAR10_TAR_BYTES)
# Where a CIFAR-10 may sit under a folder a user points at (engine/data/layouts.py): the extracted folders,
# the release archive, Keras 3's cache (`-target/` folder, `_archive` file) and Keras 2's.
CIFAR10_LAYOUTS = ("cifar-10-batches-py/", "cifar-10-batches-bin/", "cifar-10-python.tar.gz",
                   "cifar-10-batches-py-target/cifar-10-batches-py/", "cifar-10-batches-py-target_archive",
                   "cifar-10-batches-py.tar.gz")
CACHED_FOLDERS = ("cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py")  # Keras 3, Keras 2
CACHED_ARCHIVES = ("cifar-10-batches-py-target_archive", "cifar-10-batches-py.tar.gz")
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
HOW_TO_FIX = (
    "fix: pass --data-dir pointing at cifar-10-python.tar.gz or its extracted cifar-10-batches-py folder "
    "(download it from https://www.cs.toronto.edu/~kriz/cifar.html on a machine with internet), "
    "or use --dataset digits for an offline demo"
)


@dataclass
class RawDataset:
    name: str  # the config's data set ("cifar10", "mnist", ...); "folder:<name>" for an image folder
    source: str  # where the files came from, in words
    class_names: list[str]
    x_train: np.ndarray  # uint8 (N, 32, 32, 3): every data set reaches the models at this one native size
    y_train: np.ndarray  # int64 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    # The training augmentation that respects the data's invariances (engine/models/preprocessing.AUGMENTATIONS),
    # used when the config says augment = "auto".
    augmentation: str = "flip+translate"
    # What else a record must say about the data: how the images were brought to 32x32x3 ("conversion"), and
    # for an image folder its classes' image counts and content digest (engine/data/image_folder.py).
    details: dict = field(default_factory=dict)


def cached_archives() -> list[Path]:
    """Where Keras keeps the downloaded archive: Keras 3 (`..._archive`), then Keras 2 (`.tar.gz`)."""
    return [cache_dir() / name for name in CACHED_ARCHIVES]


def locate_cifar10(data_dir: str | None) -> Callable[[], RawDataset] | None:
    """The reader of the local CIFAR-10 to use, or None when nothing is local (a download is needed).

    Cheap (no file is read in full, except a cached archive's checksum), so it runs before TensorFlow
    loads. Raises DataError for a `--data-dir` that is missing or holds no CIFAR-10 (naming the layouts it
    looked for), for a partial folder (naming the missing files), and for a cached archive that does not
    match Keras' release checksum (it is never replaced or removed).
    """
    if data_dir:
        return locate_in(data_dir, _recognise, CIFAR10_LAYOUTS, "CIFAR-10", HOW_TO_FIX)
    return cached(_recognise, CACHED_FOLDERS, CACHED_ARCHIVES, CIFAR10_SHA256, "sha256", "cifar-10-python.tar.gz")


def load_cifar10(data_dir: str | None, download: Callable[[], Path] | None = None,
                 report: Callable[[str], None] = lambda _text: None) -> RawDataset:
    """Find and read CIFAR-10; `download` (default: a verified download into Keras' cache) is tried only
    when nothing is local. `report` receives download progress, one line at a time."""
    found = locate_cifar10(data_dir)
    if found is not None:
        return found()
    archive = download_or_explain(download or (lambda: _download_archive(report)), "CIFAR-10", HOW_TO_FIX)
    return read_tar_gz(archive) if Path(archive).is_file() else read_python_folder(Path(archive))


def _download_archive(report: Callable[[str], None]) -> Path:
    """The release archive, downloaded where Keras 3 keeps it (so Keras finds it too); read in memory."""
    return download(CIFAR10_URL, cached_archives()[0], CIFAR10_SHA256, "sha256", report)


def _recognise(path: Path) -> Callable[[], RawDataset] | None:
    """What kind of CIFAR-10 `path` itself is, as a loader; None if none (DataError if it is a partial one)."""
    if path.is_file():
        archive = path.name.endswith((".tar.gz", ".tgz", "-target_archive")) and "cifar-100" not in path.name
        return (lambda: read_tar_gz(path)) if archive else None
    if (path / cf.TEST_FILE).is_file():
        return lambda: read_python_folder(path)
    if (path / cf.BIN_TEST_FILE).is_file():
        return lambda: read_binary_folder(path)
    _refuse_incomplete(path)
    return None


def read_python_folder(folder: Path) -> RawDataset:
    def read(name: str) -> bytes:
        return cf.read_file(_required(folder / name))

    return _assemble("python", str(folder), read, cf.parse_python_batch, cf.TRAIN_FILES, cf.TEST_FILE,
                     lambda: cf.parse_python_meta(read(cf.META_FILE), str(folder / cf.META_FILE))
                     if (folder / cf.META_FILE).is_file() else CIFAR10_CLASSES)


def read_binary_folder(folder: Path) -> RawDataset:
    def read(name: str) -> bytes:
        return cf.read_file(_required(folder / name))

    meta = folder / cf.BIN_META_FILE
    return _assemble("binary", str(folder), read, cf.parse_binary_batch, cf.BIN_TRAIN_FILES, cf.BIN_TEST_FILE,
                     lambda: cf.parse_binary_meta(read(cf.BIN_META_FILE), str(meta)) if meta.is_file()
                     else CIFAR10_CLASSES)


def read_tar_gz(archive: Path) -> RawDataset:
    """Read the python-format batches straight out of the archive, refusing unsafe member names."""
    contents = read_members(archive, (*cf.TRAIN_FILES, cf.TEST_FILE), (cf.META_FILE,), CIFAR10_RELEASE)
    return _assemble("python", str(archive), contents.__getitem__, cf.parse_python_batch, cf.TRAIN_FILES,
                     cf.TEST_FILE, lambda: cf.parse_python_meta(contents[cf.META_FILE], f"{archive}:batches.meta")
                     if cf.META_FILE in contents else CIFAR10_CLASSES, label_prefix=f"{archive}:")


def _refuse_incomplete(folder: Path) -> None:
    """A folder with some CIFAR-10 python batches but not all: name it and what is missing."""
    if not folder.is_dir():
        return
    expected = (*cf.TRAIN_FILES, cf.TEST_FILE)
    present = [name for name in expected if (folder / name).is_file()]
    if present:
        missing = [name for name in expected if name not in present]
        raise DataError(f"{folder} holds CIFAR-10 batches but is missing {', '.join(missing)}: delete the "
                        f"folder to download it again, or {HOW_TO_FIX.removeprefix('fix: ')}")


def _assemble(fmt, source, read, parse, train_files, test_file, class_names, label_prefix=None) -> RawDataset:
    prefix = label_prefix if label_prefix is not None else source + "/"
    parts = [parse(read(name), prefix + name) for name in train_files]
    x_test, y_test = parse(read(test_file), prefix + test_file)
    names = class_names()
    if len(names) != 10:
        raise DataError(f"{source}: the class-name file lists {len(names)} names, expected 10")
    # Natural images: horizontal flips and small translations keep the class (the standard CIFAR recipe).
    return RawDataset(
        name="cifar10", source=f"{source} ({fmt} format)", class_names=list(names), augmentation="flip+translate",
        x_train=np.concatenate([p[0] for p in parts]), y_train=np.concatenate([p[1] for p in parts]),
        x_test=x_test, y_test=y_test,
    )


def _required(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"{path} is missing: a CIFAR-10 folder needs data_batch_1..5 and test_batch")
    return path


def load_digits() -> RawDataset:
    """scikit-learn's bundled 8x8 digits (1,797 real images), upscaled 4x to 32x32x3 uint8.

    Offline and tiny: a way to run the whole study on any machine. It is not CIFAR-10, and every screen,
    record and report says which data set a run used.
    """
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    digits = sk_digits()
    images = (digits.images / 16.0 * 255.0).round().astype(np.uint8)  # 0..16 -> 0..255
    images = images.repeat(4, axis=1).repeat(4, axis=2)  # 8x8 -> 32x32, nearest neighbour
    images = np.ascontiguousarray(np.repeat(images[..., None], 3, axis=3))
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, stratify=labels,
                                                        random_state=0)
    # No flips: a mirrored digit is another symbol (or none). Translation by up to 4 px is one source pixel.
    return RawDataset(name="digits", source="scikit-learn bundled digits (8x8, upscaled to 32x32)",
                      class_names=[str(i) for i in range(10)],
                      x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, augmentation="translate")
