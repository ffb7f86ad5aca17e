"""Every data set the tool reads, by its config name: how to find it, read it, and what it is as shipped.

| name | what | classes | as shipped | augmentation |
|---|---|---|---|---|
| cifar10 | natural photos, 32x32 RGB | 10 | 50,000 / 10,000 | flip+translate |
| cifar100 | natural photos, 32x32 RGB, fine labels | 100 | 50,000 / 10,000 | flip+translate |
| cifar100_coarse | the same photos, coarse labels (superclasses) | 20 | 50,000 / 10,000 | flip+translate |
| fashion_mnist | product photos, 28x28 gray | 10 | 60,000 / 10,000 | flip+translate |
| mnist | handwritten digits, 28x28 gray | 10 | 60,000 / 10,000 | translate |
| digits | scikit-learn's 8x8 digits (offline demo) | 10 | 1,437 / 360 | translate |
| folder | your images, one folder per class (`--data-dir`) | yours | yours | translate |

`locate` is cheap (no image decoded) and runs before TensorFlow loads, so a wrong `--data-dir` is refused in
seconds; `load` reads (or downloads) and returns the RawDataset; `train_labels` gives the training labels as
shipped, for the split check before anything loads (engine/data/feasibility.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from cifar_tui.engine.data.layouts import NotFound
from cifar_tui.engine.data.sources import RawDataset
from cifar_tui.engine.errors import DataError

TITLES = {
    "cifar10": "CIFAR-10", "cifar100": "CIFAR-100 (100 fine classes)", "cifar100_coarse":
    "CIFAR-100 (20 coarse classes)", "fashion_mnist": "Fashion-MNIST", "mnist": "MNIST",
    "digits": "scikit-learn digits (offline demo)", "folder": "an image folder (--data-dir)",
}
# Training images per class as shipped (Krizhevsky 2009; Xiao et al. 2017; MNIST's own counts, LeCun et al.).
MNIST_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
# the released sets, which are read from a local copy or downloaded into Keras' cache (digits ship with
# scikit-learn, an image folder is the user's own)
DOWNLOADABLE = ("cifar10", "cifar100", "cifar100_coarse", "fashion_mnist", "mnist")
SHIPPED_COUNTS = {"cifar10": (5000,) * 10, "cifar100": (500,) * 100, "cifar100_coarse": (2500,) * 20,
                  "fashion_mnist": (6000,) * 10, "mnist": MNIST_TRAIN_COUNTS}


def locate(dataset: str, data_dir: str | None) -> Callable[[], RawDataset] | None:
    """The reader of the local copy of `dataset`, or None when it must be downloaded. DataError (one line)
    when `data_dir` is given and holds no copy (saying which data set it does hold, if it is another one)."""
    try:
        return _locate(dataset, data_dir)
    except NotFound as exc:
        other = identify(exc.path, exclude=dataset)
        if other:
            looks = "a folder of images, one sub-folder per class" if other == "folder" else TITLES[other]
            raise DataError(f"--data-dir {exc.path} holds no {TITLES[dataset]} but {looks}: pass --dataset {other} "
                            "to use it") from None
        raise


def load(dataset: str, data_dir: str | None, report: Callable[[str], None] = lambda _text: None) -> RawDataset:
    """Find (or download into Keras' cache) and read `dataset`."""
    if dataset == "digits":
        from cifar_tui.engine.data.sources import load_digits

        return load_digits()
    if dataset == "folder":
        return _folder_reader(data_dir)()
    found = locate(dataset, data_dir)
    if found is not None:
        return found()
    if dataset == "cifar10":
        from cifar_tui.engine.data.sources import load_cifar10

        return load_cifar10(None, report=report)
    if dataset.startswith("cifar100"):
        from cifar_tui.engine.data import sources_cifar100

        return sources_cifar100.load(None, _mode(dataset), report)
    from cifar_tui.engine.data import sources_mnist

    return sources_mnist.load(dataset, None, report)


def _locate(dataset: str, data_dir: str | None) -> Callable[[], RawDataset] | None:
    if dataset == "cifar10":
        from cifar_tui.engine.data.sources import locate_cifar10

        return locate_cifar10(data_dir)
    if dataset.startswith("cifar100"):
        from cifar_tui.engine.data import sources_cifar100

        return sources_cifar100.locate(data_dir, _mode(dataset))
    if dataset in ("mnist", "fashion_mnist"):
        from cifar_tui.engine.data import sources_mnist

        return sources_mnist.locate(sources_mnist.KINDS[dataset], data_dir)
    if dataset == "folder":
        return _folder_reader(data_dir)
    return None  # digits: bundled with scikit-learn


def _folder_reader(data_dir: str | None) -> Callable[[], RawDataset]:
    from cifar_tui.engine.data.image_folder import list_folder

    if not data_dir:
        raise DataError("--dataset folder needs --data-dir PATH: a folder with one sub-folder of images per class")
    try:
        list_folder(data_dir)  # refuses a folder that is not one, before anything loads
    except DataError:
        other = identify(Path(data_dir).expanduser(), exclude="folder")
        if other:
            raise DataError(f"--data-dir {Path(data_dir).expanduser()} holds {TITLES[other]}, not a folder of class "
                            f"folders: pass --dataset {other} to use it") from None
        raise

    def read() -> RawDataset:
        from cifar_tui.engine.data.image_decode import read_image_folder

        return read_image_folder(data_dir)

    return read


def identify(path: Path, exclude: str = "") -> str:
    """The name of the data set at or under `path` ('' if none), for a hint; never raises."""
    for name in ("cifar10", "cifar100", "fashion_mnist", "mnist", "folder"):
        if name == exclude or (name == "cifar100" and exclude == "cifar100_coarse"):
            continue
        try:
            if _locate(name, str(path)) is not None:
                return name
        except DataError:
            continue
    return ""


def _mode(dataset: str) -> str:
    return "coarse" if dataset == "cifar100_coarse" else "fine"


def train_labels(dataset: str, data_dir: str | None = None) -> np.ndarray:
    """The training labels as shipped, shape (N,) int64: from the counts above, scikit-learn's digits, or
    the listing of an image folder (no image decoded)."""
    if dataset == "digits":
        from cifar_tui.engine.data.sources import load_digits

        return load_digits().y_train
    if dataset == "folder":
        from cifar_tui.engine.data.image_folder import list_folder

        return list_folder(data_dir or "").train_labels()
    counts = SHIPPED_COUNTS[dataset]
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)
