"""Per-image predictions in the run folder: `strategies/<name>/predictions.npz` (see
`cifar_tui.engine.analysis.predictions` for the arrays). Written atomically by the recorder, read by the galleries,
the export and the CLI."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from cifar_tui.engine.analysis.predictions import Predictions
from cifar_tui.engine.errors import StoreError
from cifar_tui.engine.store.atomic import atomic_write_bytes, make_subfolders

PREDICTIONS_FILE = "predictions.npz"
ARRAYS = ("labels", "predicted", "probabilities", "image_index", "images")


def predictions_path(run_dir: Path, strategy: str) -> Path:
    return Path(run_dir) / "strategies" / strategy / PREDICTIONS_FILE


def write_predictions(run_dir: Path, strategy: str, arrays: dict[str, np.ndarray]) -> Path:
    """Compressed .npz (pixels and class ids compress well); raises OSError like any file write."""
    path = predictions_path(run_dir, strategy)
    make_subfolders(path.parent, 2)  # strategies/<name>, never the run folder itself
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: arrays[k] for k in ARRAYS})
    atomic_write_bytes(path, buffer.getvalue())
    return path


def read_predictions(run_dir: Path, strategy: str) -> Predictions:
    """Raises StoreError with a one-line reason: unavailable (an older run, an unfinished strategy) or damaged."""
    path = predictions_path(run_dir, strategy)
    if not path.is_file():
        raise StoreError(f"no per-image predictions for {strategy} in run {Path(run_dir).name} (recorded by "
                         f"cifar-tui since the galleries were added, for strategies that finished): unavailable")
    try:
        with np.load(path, allow_pickle=False) as data:  # never unpickle a file from disk
            arrays = {k: data[k] for k in ARRAYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise StoreError(f"{path} is damaged ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    return Predictions(arrays)
