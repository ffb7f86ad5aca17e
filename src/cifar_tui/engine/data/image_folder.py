"""A folder of images in the usual one-folder-per-class layout (`--dataset folder --data-dir PATH`), listed
without decoding a pixel, so that its labels (and so a run's split) are known before anything loads.

Two layouts (the first that fits):
- `PATH/train/<class>/...` and `PATH/test/<class>/...`: the test set is the one given. Without `test/`, a
  `val/` or `validation/` folder is the test set (ImageNet-style releases publish their labelled held-out
  split under that name); the run's own validation set is always carved from `train/`.
- `PATH/<class>/...`: the test set is carved from it, `TEST_SHARE` of each class (at least one image; a
  class needs two), drawn with the fixed seed `TEST_SEED`, not the run's: every run and every seed of a study
  tests on the same images, and the carve changes only if the folder's files do (its digest says so).

Classes are the folder names, in sorted order (as Keras' `image_dataset_from_directory`). Images are the
files ending in .png, .jpg or .jpeg (any case), found at any depth inside a class folder; hidden files
(`.DS_Store`, macOS' `._name.jpg`) and other files are left out and counted. Nothing is ever written into
the folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cifar_tui.engine.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
TEST_FOLDERS = ("test", "val", "validation")
TEST_SHARE = 0.2
TEST_SEED = 0
HOW_TO_FIX = ("fix: point --data-dir at a folder with one sub-folder of images per class (PNG or JPEG), "
              "or with train/ and test/ folders laid out so")


@dataclass
class FolderListing:
    root: Path
    class_names: list[str]
    train: list[tuple[Path, int]]  # (file, class id), in class then path order
    test: list[tuple[Path, int]]
    test_set: str  # where the test set came from, in words
    ignored: list[str] = field(default_factory=list)  # files that are not images, relative to root
    notes: list[str] = field(default_factory=list)

    def counts(self, split: str) -> dict[str, int]:
        labels = np.array([label for _path, label in getattr(self, split)], dtype=np.int64)
        per_class = np.bincount(labels, minlength=len(self.class_names)) if len(labels) else []
        return {name: int(n) for name, n in zip(self.class_names, per_class, strict=False)}

    def train_labels(self) -> np.ndarray:
        return np.array([label for _path, label in self.train], dtype=np.int64)


def list_folder(data_dir: str | Path) -> FolderListing:
    """The folder's images, classes and train/test split; DataError (one line) when it is not one."""
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataError(f"--data-dir {root} {'is not a folder' if root.exists() else 'does not exist'}; {HOW_TO_FIX}")
    if (root / "train").is_dir():
        return _given_split(root)
    classes, ignored = _class_folders(root)
    files = {name: _images(root / name, root, ignored) for name in classes}
    listing = FolderListing(root, classes, [], [], f"carved: {TEST_SHARE:.0%} of each class, seed {TEST_SEED}",
                            ignored)
    rng = np.random.default_rng(TEST_SEED)
    for label, name in enumerate(classes):
        paths = files[name]
        if len(paths) < 2:
            raise DataError(f"{root / name}: {len(paths)} image(s); a class needs at least 2 when the test set "
                            f"is carved from the folder (or give train/ and test/ folders)")
        order = rng.permutation(len(paths))
        n_test = max(1, round(TEST_SHARE * len(paths)))
        chosen = set(order[:n_test].tolist())
        for i, path in enumerate(paths):
            (listing.test if i in chosen else listing.train).append((path, label))
    return listing


def _given_split(root: Path) -> FolderListing:
    test_name = next((name for name in TEST_FOLDERS if (root / name).is_dir()), None)
    if test_name is None:
        raise DataError(f"{root} has train/ but no test/ (nor val/): add test/ with the same class folders, or "
                        "point --data-dir at train/ to carve a test set from it")
    ignored: list[str] = []
    classes, _ = _class_folders(root / "train", ignored)
    test_classes, _ = _class_folders(root / test_name, ignored)
    extra = sorted(set(test_classes) - set(classes))
    if extra:
        raise DataError(f"{root / test_name} has classes that train/ has not: {', '.join(extra[:5])}; a model "
                        "cannot predict a class it never saw")
    listing = FolderListing(root, classes, [], [], f"given: {test_name}/", ignored)
    for split, folder in (("train", "train"), ("test", test_name)):
        for label, name in enumerate(classes):
            if (root / folder / name).is_dir():
                getattr(listing, split).extend((p, label) for p in _images(root / folder / name, root, ignored))
    counts = listing.counts("train")
    empty = [name for name, n in counts.items() if n == 0]
    if empty:
        raise DataError(f"{root / 'train'}: class folder(s) without images: {', '.join(empty[:5])}")
    missing = [name for name in classes if name not in test_classes]
    if missing:
        listing.notes.append(f"{test_name}/ has no images of {', '.join(missing[:5])}")
    if test_name != "test" or any((root / n).is_dir() for n in TEST_FOLDERS if n != test_name):
        unused = [n for n in TEST_FOLDERS if n != test_name and (root / n).is_dir()]
        if unused:
            listing.notes.append(f"{', '.join(u + '/' for u in unused)} not used: validation is carved from train/")
    return listing


def _class_folders(folder: Path, ignored: list[str] | None = None) -> tuple[list[str], list[str]]:
    ignored = [] if ignored is None else ignored
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise DataError(f"{folder}: cannot list it ({exc.strerror})") from None
    classes = [p.name for p in entries if p.is_dir() and not p.name.startswith(".")]
    ignored += [p.name for p in entries if p.is_file() and not p.name.startswith(".")]
    if len(classes) < 2:
        loose = sum(p.suffix.lower() in IMAGE_SUFFIXES for p in entries if p.is_file())
        said = f" and {loose} image files directly in it" if loose else ""
        raise DataError(f"{folder} holds {len(classes)} class folder(s){said}; a classification needs at least 2 "
                        f"classes, one folder each; {HOW_TO_FIX}")
    return classes, ignored


def _images(folder: Path, root: Path, ignored: list[str]) -> list[Path]:
    """The images at any depth under `folder`, sorted by path; other visible files are added to `ignored`."""
    found = []
    for where, dirs, files in os.walk(folder):  # symlinked folders are not followed: no loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            path = Path(where) / name
            if path.suffix.lower() in IMAGE_SUFFIXES:
                found.append(path)
            else:
                ignored.append(str(path.relative_to(root)))
    return sorted(found)
