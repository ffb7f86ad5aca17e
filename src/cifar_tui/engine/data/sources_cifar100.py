"""CIFAR-100 (Krizhevsky 2009): 50,000 training and 10,000 test photos, 32x32x3, each labelled with one of
100 fine classes and one of the 20 coarse classes ("superclasses") that group them.

The genuine `cifar-100-python.tar.gz` holds `cifar-100-python/train`, `test` and `meta`: pickles written by
Python 2 with numpy 1.x, bytes keys: `b"data"` (uint8 N x 3072, the red plane, then green, then blue, as
CIFAR-10's), `b"fine_labels"` and `b"coarse_labels"` (lists of int), and in `meta` `b"fine_label_names"`
(100) and `b"coarse_label_names"` (20). Read with CIFAR-10's restricted unpickler (no code in a file ever
runs; engine/data/cifar_files.py). `--dataset cifar100` uses the fine labels, `cifar100_coarse` the coarse.

Looked for as CIFAR-10 is: `--data-dir` at any level (engine/data/layouts.py), then Keras' cache (Keras 3:
`datasets/cifar-100-python-target/cifar-100-python/` and `datasets/cifar-100-python-target_archive`; Keras 2:
`datasets/cifar-100-python/` and `datasets/cifar-100-python.tar.gz`; the archive checked against Keras'
SHA-256), then a verified download into Keras 3's place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from cifar_tui.engine.data import cifar_files as cf
from cifar_tui.engine.data.archives import Release, read_members
from cifar_tui.engine.data.keras_cache import cache_dir, cached, download_or_explain
from cifar_tui.engine.data.layouts import locate_in
from cifar_tui.engine.data.sources import RawDataset
from cifar_tui.engine.errors import DataError
from cifar_tui.engine.runtime.download import download

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"  # keras.datasets.cifar100
RELEASE = Release("cifar-100-python.tar.gz", URL)
FILES = ("train", "test", "meta")
LAYOUTS = ("cifar-100-python/", "cifar-100-python.tar.gz", "cifar-100-python-target/cifar-100-python/",
           "cifar-100-python-target_archive")
CACHED_FOLDERS = ("cifar-100-python-target/cifar-100-python", "cifar-100-python")  # Keras 3, Keras 2
CACHED_ARCHIVES = ("cifar-100-python-target_archive", "cifar-100-python.tar.gz")
CLASSES = {"fine": 100, "coarse": 20}
HOW_TO_FIX = ("fix: pass --data-dir pointing at cifar-100-python.tar.gz or its extracted cifar-100-python "
              "folder (download it from https://www.cs.toronto.edu/~kriz/cifar.html on a machine with internet)")


def dataset_name(mode: str) -> str:
    return "cifar100" if mode == "fine" else "cifar100_coarse"


def locate(data_dir: str | None, mode: str = "fine") -> Callable[[], RawDataset] | None:
    """The reader of a local CIFAR-100 (labels `mode`: "fine" or "coarse"), or None (a download is needed).
    DataError as CIFAR-10's `locate_cifar10`."""
    def recognise(path: Path) -> Callable[[], RawDataset] | None:
        return _recognise(path, mode)

    if data_dir:
        return locate_in(data_dir, recognise, LAYOUTS, "CIFAR-100", HOW_TO_FIX)
    return cached(recognise, CACHED_FOLDERS, CACHED_ARCHIVES, SHA256, "sha256", RELEASE.filename)


def load(data_dir: str | None, mode: str = "fine", report: Callable[[str], None] = lambda _text: None,
         fetch: Callable[[], Path] | None = None) -> RawDataset:
    """Find (or download) and read CIFAR-100 with `mode` labels; `fetch` replaces the download (tests)."""
    found = locate(data_dir, mode)
    if found is not None:
        return found()
    archive = download_or_explain(
        fetch or (lambda: download(URL, cache_dir() / CACHED_ARCHIVES[0], SHA256, "sha256", report)),
        "CIFAR-100", HOW_TO_FIX)
    return read_archive(Path(archive), mode)


def _recognise(path: Path, mode: str) -> Callable[[], RawDataset] | None:
    if path.is_file():
        archive = path.name.endswith((".tar.gz", ".tgz", "-target_archive")) and "cifar-100" in path.name
        return (lambda: read_archive(path, mode)) if archive else None
    present = [name for name in FILES if (path / name).is_file()]
    if len(present) == len(FILES):
        return lambda: read_folder(path, mode)
    if "train" in present or "test" in present:
        missing = ", ".join(name for name in FILES if name not in present)
        raise DataError(f"{path} holds CIFAR-100 files but is missing {missing}: {HOW_TO_FIX.removeprefix('fix: ')}")
    return None


def read_folder(folder: Path, mode: str = "fine") -> RawDataset:
    contents = {name: cf.read_file(folder / name) for name in FILES}
    return _assemble(contents, f"{folder}/", f"{folder} (python format)", mode)


def read_archive(archive: Path, mode: str = "fine") -> RawDataset:
    contents = read_members(archive, FILES, (), RELEASE)
    return _assemble(contents, f"{archive}:", f"{archive} (python format)", mode)


def parse_split(data: bytes, label: str, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """`train` or `test` bytes -> (uint8 (N, 32, 32, 3), int64 (N,) labels of `mode`)."""
    obj = cf.unpickle(data, label, "CIFAR-100 file")
    labels = cf.entry(obj, f"{mode}_labels")
    if labels is None:
        raise DataError(f"{label}: missing '{mode}_labels'; is this CIFAR-100's train or test file?")
    raw = cf.pixel_rows(obj, label)
    return cf.images_from_planes(raw, label), cf.check_labels(labels, len(raw), label, CLASSES[mode])


def parse_meta(data: bytes, label: str, mode: str) -> list[str]:
    obj = cf.unpickle(data, label, "CIFAR-100 meta file")
    names = cf.entry(obj, f"{mode}_label_names")
    if not isinstance(names, list) or len(names) != CLASSES[mode]:
        raise DataError(f"{label}: '{mode}_label_names' must list {CLASSES[mode]} class names")
    return [cf.clean_class_name(name, label) for name in names]


def _assemble(contents: dict[str, bytes], prefix: str, source: str, mode: str) -> RawDataset:
    # popped: a file's 150 MB of bytes can go as soon as its arrays are made (peak memory)
    x_train, y_train = parse_split(contents.pop("train"), prefix + "train", mode)
    x_test, y_test = parse_split(contents.pop("test"), prefix + "test", mode)
    names = parse_meta(contents["meta"], prefix + "meta", mode)
    # Natural photos, as CIFAR-10: mirrors and small shifts keep the class.
    return RawDataset(name=dataset_name(mode), source=source, class_names=names, x_train=x_train,
                      y_train=y_train, x_test=x_test, y_test=y_test, augmentation="flip+translate",
                      details={"labels": f"{mode} ({CLASSES[mode]} classes)", "conversion": "none (32x32x3)"})
