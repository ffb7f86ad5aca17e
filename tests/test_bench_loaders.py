"""The loaders' benchmark at tiny sizes, so it cannot rot (the figures themselves: docs/benchmark.md)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_loaders_bench_smoke_measures_every_data_set(tmp_path):
    out = tmp_path / "loaders.json"
    result = subprocess.run([sys.executable, "-m", "bench.loaders", "--smoke", "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"cifar100", "mnist", "fashion_mnist", "folder"}
    for name, figures in results.items():
        assert figures["seconds"] > 0 and figures["peak_rss_mb"] >= figures["baseline_rss_mb"] > 0, name
        assert figures["shape"] == [32, 32, 3] and figures["train"] > figures["test"] > 0, name
