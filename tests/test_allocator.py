"""The allocator setting every training process applies: freed large blocks are reused, not re-faulted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Counts the page faults of allocating and freeing a 40 MB array five times, after one warm-up round.
# With glibc's defaults each round maps fresh pages (and faults them in); with the setting, none.
FAULTS = """
import resource, numpy as np
from cifar_tui.engine.runtime.allocator import keep_freed_memory
print(keep_freed_memory())
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(5_000_000); del a
before = faults()
for _ in range(5):
    a = np.ones(5_000_000); del a
print(faults() - before)
"""


def _faults(malloc_env: str | None) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "CIFAR_TUI_MALLOC"}
    if malloc_env is not None:
        env["CIFAR_TUI_MALLOC"] = malloc_env
    out = subprocess.run([sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=env).stdout.split()
    return " ".join(out[:-1]), int(out[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a glibc setting")
def test_freed_memory_is_reused_instead_of_faulted_in_again():
    from cifar_tui.engine.runtime.allocator import KEEP, SYSTEM

    kept, kept_faults = _faults(None)
    system, system_faults = _faults("system")
    assert (kept, system) == (KEEP, SYSTEM)
    assert system_faults > 100  # glibc's default: every round faults fresh pages in
    assert kept_faults < system_faults / 20


def test_the_setting_is_applied_once_and_reported(monkeypatch):
    from cifar_tui.engine.runtime import allocator

    first = allocator.keep_freed_memory()
    monkeypatch.setenv("CIFAR_TUI_MALLOC", "system")  # too late for this process: already applied
    assert allocator.keep_freed_memory() == first
    assert first in (allocator.KEEP, allocator.SYSTEM)
