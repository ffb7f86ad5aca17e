"""Epoch checkpoint files, read side (no Keras here, so planning a resume stays cheap).

Layout, in the run folder:
    checkpoints/<strategy>/state.json                the commit point (written atomically, last)
    checkpoints/<strategy>/epoch-0003.weights.npz    model weights after the last finished epoch
    checkpoints/<strategy>/epoch-0003.optimizer.npz  the optimizer's variables (moments, step counter)
    checkpoints/<strategy>/best-0002.weights.npz     weights of the best validation epoch so far
    checkpoints/<strategy>/backbone-start.npz        the backbone before training (fine-tuning analysis)

The writing side is `cifar_tui.engine.training.checkpoints.Checkpointer`.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.errors import CheckpointDamaged

STATE_FILE = "state.json"
BACKBONE_START_FILE = "backbone-start.npz"  # written once at the start; epoch saves keep it
CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    strategy: str
    epoch: int  # global epochs finished (1-based count across phases)
    phase: str  # the phase that epoch belonged to
    learning_rate: float  # of that phase (the schedule is constant per phase)
    best_epoch: int
    best_val_accuracy: float
    seed: int  # the run's seed; a resumed pipeline is reseeded with seed + epoch (see train_strategy)
    weights_file: str
    optimizer_file: str
    best_file: str

    def folder_files(self) -> set[str]:
        return {STATE_FILE, self.weights_file, self.optimizer_file, self.best_file} - {""}


def checkpoint_dir(run_path: Path, strategy: str) -> Path:
    return Path(run_path) / "checkpoints" / strategy


def load_checkpoint(folder: Path) -> Checkpoint | None:
    """The last committed checkpoint in `folder`, or None if there is none. Raises CheckpointDamaged when
    state.json or a file it names is missing, truncated or corrupt (every array file is read in full)."""
    path = Path(folder) / STATE_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("version", None) != CHECKPOINT_VERSION:
            raise ValueError("unknown checkpoint version")
        checkpoint = Checkpoint(**data)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise CheckpointDamaged(damaged_message(path, exc)) from None
    for name in sorted(checkpoint.folder_files() - {STATE_FILE}):
        file = Path(folder) / name
        if not file.is_file():
            raise CheckpointDamaged(damaged_message(path, f"it names {name}, which is missing"))
        verify_arrays_file(file)
    return checkpoint


def verify_arrays_file(path: Path) -> None:
    """Read every array's bytes (zip CRC-checked) so that a truncated or overwritten checkpoint file is found
    when a resume is planned, before anything is appended to the run. Raises CheckpointDamaged."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise ValueError(f"member {bad} fails its CRC check")
            if not archive.namelist():
                raise ValueError("it holds no arrays")
    except Exception as exc:  # BadZipFile (truncated), zlib.error, EOFError, OSError, ValueError
        raise CheckpointDamaged(damaged_message(path, exc)) from None


def damaged_message(path: Path, reason: object) -> str:
    """One line: which file, why, and what to do (the strategy's folder is `path.parent`)."""
    why = reason if isinstance(reason, str) else f"{type(reason).__name__}: {reason}".splitlines()[0][:160]
    folder = Path(path).parent
    return (f"checkpoint file {path} is damaged ({why}); fix: delete {folder} to restart "
            f"the {folder.name} strategy from its first epoch (the run's other strategies are kept), then resume")
