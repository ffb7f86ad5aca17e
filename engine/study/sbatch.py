"""What a refused Slurm submission leaves and says (issue #26 section 7).

submitit writes each task's pickle and the sbatch script into the study's `slurm/` folder before it calls
sbatch, and leaves them there when sbatch refuses: `leftovers` and `remove_leftovers` take away what one
attempt added. sbatch's own error is one line; where Slurm names a fix we know, it goes on the same line.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# sbatch's words -> the fix, for errors whose cause is our request
FIXES = (
    (("invalid generic resource", "gres"), "fix: this cluster gives no GPUs that way: --gpus-per-task 0 (the tasks "
                                          "train on CPUs), or a --partition that has GPUs"),
    (("invalid partition",), "fix: name one of `sinfo`'s partitions with --partition"),
    (("invalid account",), "fix: name an account you may charge with --account (see `sacctmgr show assoc`)"),
    (("time limit",), "fix: a shorter --time (minutes) within the partition's limit (`sinfo -o '%P %l'`)"),
)


def files_in(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def remove_leftovers(folder: Path, before: set[str], existed: bool) -> None:
    """Remove the files a failed submission added to `folder` (and the folder, if it made it)."""
    for name in files_in(folder) - before:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    if not existed:
        with contextlib.suppress(OSError):
            folder.rmdir()


def refusal_line(message: str, gpus_per_task: int) -> str:
    """sbatch's meaningful line, and the fix on the same line where its words name a known cause."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip() and "Traceback" not in line]
    line = lines[-1] if lines else str(message)
    lowered = line.lower()
    for words, fix in FIXES:
        if any(word in lowered for word in words) and (gpus_per_task or "gres" not in words):
            return f"{line}; {fix}"
    return line
