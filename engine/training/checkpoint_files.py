"""Epoch checkpoint files, read side (no Keras here, so planning a resume stays cheap).

Layout, in the run folder:
    checkpoints/<strategy>/state.json                the commit point (written atomically, last)
    checkpoints/<strategy>/epoch-0003.weights.npz    model weights after the last finished epoch
    checkpoints/<strategy>/epoch-0003.optimizer.npz  the optimizer's variables (moments, step counter)
    checkpoints/<strategy>/best-0002.weights.npz     weights of the best validation epoch so far
    checkpoints/<strategy>/backbone-start.npz        the backbone before training (fine-tuning analysis)

The writing side is `engine.training.checkpoints.Checkpointer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError

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
    """The last committed checkpoint in `folder`, or None if there is none. Raises UserError when damaged."""
    path = Path(folder) / STATE_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("version", None) != CHECKPOINT_VERSION:
            raise ValueError("unknown checkpoint version")
        checkpoint = Checkpoint(**data)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"checkpoint {path} is damaged ({exc}); delete that folder to restart "
                        f"the strategy from its first epoch") from None
    for name in checkpoint.folder_files() - {STATE_FILE}:
        if not (Path(folder) / name).is_file():
            raise UserError(f"checkpoint {path} names {name}, which is missing")
    return checkpoint
