"""What a refused Slurm submission leaves and says (issue #26 section 7).

submitit writes each task's pickle and the sbatch script into the study's `slurm/` folder before it calls
sbatch, and leaves them there when sbatch refuses: `leftovers` and `remove_leftovers` take away what one
attempt added. sbatch's own error is one line; where Slurm names a fix we know, it goes on the same line.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# sbatch's words -> the fix, for errors whose cause is our request (the words as Slurm 22.05 prints them)
FIXES = (
    (("invalid generic resource", "gres"), "fix: this cluster gives no GPUs that way: --gpus-per-task 0 (the tasks "
                                          "train on CPUs), or a --partition that has GPUs"),
    (("invalid partition",), "fix: name one of `sinfo`'s partitions with --partition"),
    (("invalid account",), "fix: name an account you may charge with --account (see `sacctmgr show assoc`)"),
    (("time limit",), "fix: a shorter --time (minutes) within the partition's limit (`sinfo -o '%P %l'`)"),
    (("memory specification",), "fix: a smaller --mem-gb, within a node's memory (`sinfo -o '%N %m'`)"),
    (("node configuration is not available",), "fix: ask for no more CPUs, GPUs or memory per task than one node "
                                               "has (`sinfo -N -l`)"),
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
    """sbatch's meaningful line (the first that names a cause we know, else its last), and the fix on the
    same line."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip() and "Traceback" not in line]
    for words, fix in FIXES:
        if "gres" in words and not gpus_per_task:
            continue  # no GPU was asked for: not ours to fix
        named = next((line for line in lines if any(word in line.lower() for word in words)), None)
        if named is not None:
            return f"{named}; {fix}"
    return lines[-1] if lines else str(message)
