"""Before a run trains: can every file it will write be created? (issue #26 section 6)

A runs folder whose path is a few characters short of the system's limit (PATH_MAX, 4,096 bytes on Linux)
let an epoch train, then failed on the epoch's checkpoint (`File name too long`), and every resume trained
the same epoch again to fail at the same place. So before anything trains, the run's deepest folders and
longest file names are really created, in a probe folder beside the run's whose name is as long as the
run's, then removed: a path too long, a folder that cannot be written, a read-only disk are refused in one
line. (A disk that fills up later is a DiskError mid-run, cifar_tui.engine.errors.) No TensorFlow here.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from pathlib import Path

from cifar_tui.engine.errors import StoreError
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.feature_files import CACHE_FOLDER, META_FILE
from cifar_tui.engine.store.predictions import PREDICTIONS_FILE
from cifar_tui.engine.training.checkpoint_files import BACKBONE_START_FILE, STATE_FILE

TEMP = ".{}.XXXXXXXX.tmp"  # how atomic_write names its temporary file (tempfile's 8 random characters)
HEX = "0" * 20  # a feature cache key, and a shard's digest
FIX = "fix: a runs folder with a shorter path (--runs-dir or $CIFAR_TUI_RUNS)"


def run_layout(config) -> dict[str, list[str]]:
    """Folder (relative to the run's, `/`-separated) -> the names the run writes there: the longest is probed,
    the first of equal length (a real file's name before a temporary one's, so that a refusal names it)."""
    layout = {"": [TEMP.format(name) for name in (paths.SUMMARY_FILE, paths.CONFIG_FILE, paths.WRITER_FILE)]
              + [paths.NATIVE_LOG, paths.EVENTS_FILE]}
    epoch = f"{epoch_bound(config):04d}"  # checkpoints are named by epoch, four digits or more
    for strategy in config.strategies:
        layout[f"checkpoints/{strategy}"] = [f"epoch-{epoch}.optimizer.npz", f"best-{epoch}.weights.npz",
                                             TEMP.format(STATE_FILE), f".{BACKBONE_START_FILE}.tmp"]
        layout[f"strategies/{strategy}"] = [TEMP.format(name) for name in ("confusion_matrix.csv", "metrics.json",
                                                                           PREDICTIONS_FILE)]
        if config.tensorboard:  # tf.summary's names: events.out.tfevents.<time>.<host>.<pid>.<n>.v2
            layout[f"tensorboard/{strategy}/validation"] = [
                f"events.out.tfevents.0000000000.{socket.gethostname()}.{os.getpid()}.0.v2"]
    return layout


def epoch_bound(config) -> int:
    """No strategy counts more epochs than all the epoch knobs together."""
    return sum(value for key, value in vars(config).items() if key.endswith("epochs") and isinstance(value, int))


def cache_layout() -> dict[str, list[str]]:
    return {"": [TEMP.format(META_FILE), TEMP.format(f"shard-{HEX}.npz")]}


def check_run_files(runs_dir: Path, run_id: str, config) -> None:
    """Raise StoreError (one line, with the fix) when a file the run `run_id` will write in `runs_dir` cannot
    be created. Leaves nothing behind: the probe folders, and any folder made for them, are removed."""
    runs_dir = Path(runs_dir)
    made = _make_folders(runs_dir)
    try:
        _probe(runs_dir, len(run_id), run_layout(config), runs_dir / run_id)
        if config.frozen_features == "cached" and set(config.strategies) & {"frozen", "finetune", "probe"}:
            cache = runs_dir / CACHE_FOLDER
            made += _make_folders(cache)
            _probe(cache, len(HEX), cache_layout(), cache / HEX)
    finally:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                pass


def _make_folders(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; returns those it made, outermost first."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    for made, path in enumerate(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            for done in reversed(missing[:made]):
                done.rmdir()
            raise StoreError(_why(exc, path, path.parent, None)) from None
    return missing


def _probe(parent: Path, name_length: int, layout: dict[str, list[str]], real: Path) -> None:
    """Create each folder of `layout` and its longest name under a probe folder named as long as `real`."""
    folder = None
    try:
        folder = Path(tempfile.mkdtemp(prefix=".p", suffix="x" * max(0, name_length - 10), dir=parent))
        for sub, names in layout.items():
            where = folder / sub if sub else folder
            where.mkdir(parents=True, exist_ok=True)
            os.close(os.open(where / max(names, key=len), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise StoreError(_why(exc, Path(str(exc.filename or parent)), parent, folder, real)) from None
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _why(exc: OSError, path: Path, existing: Path, probe: Path | None, real: Path | None = None) -> str:
    """The failing path as the run would name it (its length where too long), why, and the fix. `existing`:
    a folder that exists on the same filesystem (for its limit)."""
    named = str(path).replace(str(probe), str(real), 1) if probe is not None and real is not None else str(path)
    if exc.errno == errno.ENAMETOOLONG and len(os.fsencode(named)) > _limit(existing):
        return (f"the run's files cannot be created: {_short(named)} would be {len(os.fsencode(named)):,} bytes "
                f"long, and this system takes {_limit(existing):,}; {FIX}")
    if exc.errno == errno.ENAMETOOLONG:  # one name in it is over the filesystem's own limit (255 bytes, often)
        return f"the run's files cannot be created: {_short(named)}: {exc.strerror}; {FIX}"
    return f"the run's files cannot be created: {_short(named)}: {exc.strerror or exc}"


def _limit(existing: Path) -> int:
    try:
        return os.pathconf(existing, "PC_PATH_MAX") - 1  # the limit counts the final NUL
    except (OSError, ValueError):
        return 4095


def _short(path: str) -> str:
    """A long path with its middle left out, so the line stays readable."""
    return path if len(path) <= 140 else f"{path[:40]}...{path[-90:]}"
