"""Finding a data set at any level of the folders a user is likely to point `--data-dir` at (issue #26 s.7).

Users point at the data set itself (`cifar-10-batches-py/`, `mnist.npz`), at the folder they downloaded it
into (`~/Downloads`), at a folder they made to hold it (`~/data/cifar10/cifar-10-batches-py/`), or at Keras'
cache: `~/.keras`, `~/.keras/datasets`, or the Keras 3 `...-target/` folder around the extracted one. So a
data set is looked for, in this order:

1. `PATH` itself;
2. each of the data set's known names (its layouts, folders written with a trailing '/':
   `cifar-10-batches-py/`, Keras 3's `cifar-10-batches-py-target/cifar-10-batches-py/`, ...) under `PATH`,
   `PATH/datasets`, `PATH/.keras/datasets` and `PATH/keras/datasets`;
3. each folder directly under `PATH` (at most `MAX_CHILDREN`, in name order), as itself and with the layouts.

No deeper: a search of a whole home folder would be slow and could find someone else's copy. A recogniser
decides whether one path IS the data set (and raises DataError for a partial one: batches without their
test file); every layout it did not find is named in the caller's one-line error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cifar_tui.engine.errors import DataError

# Where Keras keeps data sets, relative to a folder a user may point at: the folder itself, `~/.keras`, `~`.
PREFIXES = ("", "datasets", ".keras/datasets", "keras/datasets")
MAX_CHILDREN = 200  # folders looked into below PATH (a photo library must not make a search slow)

Loader = Callable[[], Any]
Recogniser = Callable[[Path], Loader | None]


def search(path: Path, recognise: Recogniser, layouts: tuple[str, ...]) -> Loader | None:
    """The loader of the data set found at or under `path` (see the module's order), or None."""
    found = recognise(path)
    if found is not None or not path.is_dir():
        return found
    for prefix in PREFIXES:
        found = _in_layouts(path / prefix if prefix else path, recognise, layouts)
        if found is not None:
            return found
    for child in _subfolders(path):
        found = recognise(child) or _in_layouts(child, recognise, layouts)
        if found is not None:
            return found
    return None


def _in_layouts(folder: Path, recognise: Recogniser, layouts: tuple[str, ...]) -> Loader | None:
    if not folder.is_dir():
        return None
    for relative in layouts:
        candidate = folder / relative
        if candidate.exists():
            found = recognise(candidate)
            if found is not None:
                return found
    return None


def _subfolders(path: Path) -> list[Path]:
    try:
        entries = sorted(p for p in path.iterdir() if not p.name.startswith(".") and p.is_dir())
    except OSError:
        return []
    return entries[:MAX_CHILDREN]


def expected(layouts: tuple[str, ...]) -> str:
    """The layouts as a user reads them in an error (folders are written with a trailing '/')."""
    return ", ".join(layouts)


class NotFound(DataError):
    """`--data-dir` exists but holds no copy of the data set in any layout looked for; `path` is where."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


def locate_in(data_dir: str, recognise: Recogniser, layouts: tuple[str, ...], title: str,
              how_to_fix: str) -> Loader:
    """The loader of the `title` data set at or under `data_dir` (see `search`). DataError when `data_dir`
    does not exist; NotFound, naming every layout looked for, when nothing there is the data set."""
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise DataError(f"--data-dir {path} does not exist; {how_to_fix}")
    found = search(path, recognise, layouts)
    if found is None:
        raise NotFound(f"--data-dir {path} holds no {title} (looked there, in datasets/ and one folder below "
                       f"for {expected(layouts)}); {how_to_fix}", path)
    return found
