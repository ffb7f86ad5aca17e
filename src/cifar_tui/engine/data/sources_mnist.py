"""MNIST (handwritten digits, LeCun et al. 1998) and Fashion-MNIST (Zalando's product photos, Xiao et al.
2017): 60,000 training and 10,000 test images each, 28x28 grayscale, 10 classes.

Each is found, in this order: `--data-dir` at any level (engine/data/layouts.py), then Keras' cache, then a
verified download into that cache (where Keras finds it too):
- MNIST: Keras' `mnist.npz` (`datasets/mnist.npz`, checked against keras.datasets.mnist's SHA-256 when it
  is Keras' cached copy), or the four IDX files as published (`train-images-idx3-ubyte.gz`, ...; gzipped or
  extracted; torchvision keeps them in `MNIST/raw/`);
- Fashion-MNIST: the four IDX files (Keras keeps them in `datasets/fashion-mnist/`, torchvision in
  `FashionMNIST/raw/`, the Zalando repository in `data/fashion/`); downloaded from Zalando's repository and
  checked against the MD5s it publishes (Keras itself checks none).
The two ship IDX files under the same names, so a folder whose name says "fashion" is never read as MNIST,
nor one named MNIST as Fashion-MNIST.

Both reach the models as uint8 32x32x3: zero-padded to 32 and the gray copied to three channels
(`idx_files.to_rgb32`). Augmentation: MNIST translates only (a mirrored digit is another symbol or none);
Fashion-MNIST translates and mirrors (a mirrored shoe or shirt is still one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifar_tui.engine.data import cifar_files as cf
from cifar_tui.engine.data.idx_files import read_idx, read_npz, to_rgb32
from cifar_tui.engine.data.keras_cache import cache_dir, cached, check_release, download_or_explain
from cifar_tui.engine.data.layouts import locate_in
from cifar_tui.engine.data.sources import RawDataset
from cifar_tui.engine.errors import DataError
from cifar_tui.engine.runtime.download import download

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CONVERSION = "28x28 grayscale zero-padded to 32x32, gray copied to RGB"


@dataclass(frozen=True)
class Mnistlike:
    name: str  # the config's data set
    title: str
    class_names: tuple[str, ...]
    augmentation: str
    layouts: tuple[str, ...]
    cached_folders: tuple[str, ...]
    other: str  # a word in the other data set's folder names: never read as this one
    how_to_fix: str


MNIST = Mnistlike(
    "mnist", "MNIST", tuple(str(i) for i in range(10)), "translate",
    ("mnist.npz", "mnist/", "MNIST/raw/", "MNIST/"), ("mnist",), "fashion",
    "fix: pass --data-dir pointing at Keras' mnist.npz or a folder of the four MNIST IDX files "
    "(train-images-idx3-ubyte.gz, ...), copied from a machine with internet")
FASHION = Mnistlike(
    "fashion_mnist", "Fashion-MNIST",
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "flip+translate", ("fashion-mnist/", "FashionMNIST/raw/", "FashionMNIST/", "data/fashion/"),
    ("fashion-mnist",), "mnist",
    "fix: pass --data-dir pointing at a folder of the four Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, "
    "...; https://github.com/zalandoresearch/fashion-mnist), copied from a machine with internet")
NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # keras.datasets.mnist
FASHION_URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
FASHION_MD5 = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",  # Zalando's README
               "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
               "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
               "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
KINDS = {"mnist": MNIST, "fashion_mnist": FASHION}


def locate(kind: Mnistlike, data_dir: str | None) -> Callable[[], RawDataset] | None:
    """The reader of a local copy, or None (a download is needed). DataError as `locate_cifar10`."""
    def recognise(path: Path) -> Callable[[], RawDataset] | None:
        return _recognise(kind, path)

    if data_dir:
        return locate_in(data_dir, recognise, kind.layouts, kind.title, kind.how_to_fix)
    found = cached(recognise, kind.cached_folders, (), "", "sha256", "")
    npz = cache_dir() / "mnist.npz"
    if found is None and kind is MNIST and npz.is_file():
        check_release(npz, NPZ_SHA256, "sha256", "mnist.npz")
        return lambda: read_npz_dataset(kind, npz)
    return found


def load(name: str, data_dir: str | None, report: Callable[[str], None] = lambda _text: None,
         fetch: Callable[[], Path] | None = None) -> RawDataset:
    """Find (or download) and read MNIST or Fashion-MNIST (`name`); `fetch` replaces the download (tests)."""
    kind = KINDS[name]
    found = locate(kind, data_dir)
    if found is not None:
        return found()
    fetched = Path(download_or_explain(fetch or (lambda: _download(kind, report)), kind.title, kind.how_to_fix))
    return read_npz_dataset(kind, fetched) if fetched.is_file() else read_idx_folder(kind, fetched)


def _download(kind: Mnistlike, report: Callable[[str], None]) -> Path:
    if kind is MNIST:
        return download(NPZ_URL, cache_dir() / "mnist.npz", NPZ_SHA256, "sha256", report)
    folder = cache_dir() / "fashion-mnist"
    for name, md5 in FASHION_MD5.items():  # the files already there (a download cut short) are kept
        if not (folder / name).is_file():
            download(FASHION_URL + name, folder / name, md5, "md5", report)
    return folder


def _recognise(kind: Mnistlike, path: Path) -> Callable[[], RawDataset] | None:
    if path.is_file():
        return (lambda: read_npz_dataset(kind, path)) if kind is MNIST and path.suffix == ".npz" else None
    if not path.is_dir() or _belongs_to_other(kind, path):
        return None
    if kind is MNIST and (path / "mnist.npz").is_file():
        return lambda: read_npz_dataset(kind, path / "mnist.npz")
    found = [_idx_path(path, name) for name in IDX_FILES]
    if all(found):
        return lambda: read_idx_folder(kind, path)
    if any(found):
        missing = ", ".join(name + ".gz" for name, f in zip(IDX_FILES, found, strict=True) if f is None)
        raise DataError(f"{path} holds {kind.title} IDX files but is missing {missing}: "
                        f"{kind.how_to_fix.removeprefix('fix: ')}")
    return None


def _belongs_to_other(kind: Mnistlike, path: Path) -> bool:
    """A folder named for the other data set (the two share their IDX file names)."""
    names = [part.lower() for part in path.parts[-2:]]
    if kind is MNIST:
        return any("fashion" in n for n in names)
    return any("mnist" in n and "fashion" not in n for n in names)


def _idx_path(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def read_idx_folder(kind: Mnistlike, folder: Path) -> RawDataset:
    paths = [_idx_path(folder, name) for name in IDX_FILES]
    if not all(paths):
        _recognise(kind, folder)  # names what is missing
    x_train, y_train, x_test, y_test = (read_idx(p, 3 if "images" in p.name else 1) for p in paths)
    return _assemble(kind, f"{folder} (IDX files)", x_train, y_train, x_test, y_test, [str(p) for p in paths])


def read_npz_dataset(kind: Mnistlike, path: Path) -> RawDataset:
    arrays = read_npz(path)
    keys = ("x_train", "y_train", "x_test", "y_test")
    return _assemble(kind, f"{path} (Keras npz)", *(arrays[k] for k in keys), [f"{path}:{k}" for k in keys])


def _assemble(kind: Mnistlike, source: str, x_train, y_train, x_test, y_test, labels: list[str]) -> RawDataset:
    checked = []
    for images, targets, image_label, target_label in ((x_train, y_train, labels[0], labels[1]),
                                                       (x_test, y_test, labels[2], labels[3])):
        checked.append(cf.check_labels(np.asarray(targets).reshape(-1), len(images), target_label, 10))
        if len(images) == 0:
            raise DataError(f"{image_label}: holds no images")
    return RawDataset(name=kind.name, source=source, class_names=list(kind.class_names),
                      x_train=to_rgb32(x_train), y_train=checked[0], x_test=to_rgb32(x_test), y_test=checked[1],
                      augmentation=kind.augmentation, details={"conversion": CONVERSION})
