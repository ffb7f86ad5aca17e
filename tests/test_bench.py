"""The benchmark script at tiny sizes, so it cannot rot. Timing targets live in `make bench`, not here."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from bench.run import TARGETS


@pytest.mark.slow
def test_bench_smoke_writes_every_figure(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(out.read_text())
    for figure in TARGETS:
        assert isinstance(record[figure], float) and math.isfinite(record[figure]) and record[figure] > 0, figure
    assert record["mode"] == "smoke" and record["machine"]["cpus"] >= 1
    assert "engine_overhead_ratio" in result.stdout
