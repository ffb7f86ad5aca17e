"""Keras' data set cache (`$KERAS_HOME/datasets`, default `~/.keras/datasets`) as this tool reads it.

Keras 3's `get_file(fname, extract=True)` keeps a release archive as `datasets/<fname>_archive` and extracts
it into `datasets/<fname>/`; Keras 2 kept `datasets/<name>.tar.gz` beside `datasets/<name>/`; single files
(`mnist.npz`, Fashion-MNIST's `fashion-mnist/*.gz`) sit under `datasets/` in both. A cached archive is
trusted only if its checksum is the release's (as Keras does before using it), and is never replaced or
removed: a mismatch is a one-line refusal that names it. A download, when nothing is cached, goes through
`cifar_tui.engine.runtime.download` (verified, never over a file that is there).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cifar_tui.engine.errors import DataError
from cifar_tui.engine.runtime.download import matches

Loader = Callable[[], Any]


def keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def cache_dir() -> Path:
    return keras_home() / "datasets"


def cached(recognise: Callable[[Path], Loader | None], folders: tuple[str, ...], archives: tuple[str, ...],
           checksum: str, algorithm: str, release_name: str) -> Loader | None:
    """The loader of what Keras cached: an extracted folder first (as `recognise` reads it), then an archive
    whose checksum is the release's; None when neither is there. DataError for an archive that does not
    match (left as it is) and for a partial folder (`recognise` raises it)."""
    for folder in folders:
        candidate = cache_dir() / folder
        found = recognise(candidate) if candidate.exists() else None
        if found is not None:
            return found
    for name in archives:
        archive = cache_dir() / name
        if archive.is_file():
            check_release(archive, checksum, algorithm, release_name)
            found = recognise(archive)
            if found is not None:
                return found
    return None


def check_release(path: Path, checksum: str, algorithm: str, release_name: str) -> None:
    if not matches(path, checksum, algorithm):
        raise DataError(f"{path} does not match Keras' release checksum of {release_name} ({algorithm} "
                        f"{checksum[:12]}...); it was left as it is. fix: delete it to download it again, or "
                        "pass --data-dir with your own copy")


def download_or_explain(fetch: Callable[[], Any], title: str, how_to_fix: str) -> Any:
    """`fetch()` (a verified download into the cache), its failure as one DataError line naming the cache."""
    try:
        return fetch()
    except DataError:
        raise
    except Exception as exc:  # DownloadFailed: network, checksum, disk
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DataError(f"{title} is not in {cache_dir()} and the download failed ({reason}); {how_to_fix}") from None
