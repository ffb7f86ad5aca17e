"""bench/gpu_check.sh (issue #14 part 4) keeps working: its smoke size on this CPU, under the JAX backend,
through the same wrapper the GPU machine runs. The GPU figures themselves are measured only there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path, *args, backend="jax"):
    env = {**os.environ, "PYTHON": sys.executable, "KERAS_BACKEND": backend, "KERAS_HOME": str(tmp_path / "keras"),
           "TMPDIR": str(tmp_path)}
    env.pop("PYTHONPATH", None)
    script = ["bash", str(ROOT / "bench" / "gpu_check.sh")] if backend == "jax" else \
        [sys.executable, "-m", "bench.gpu_check"]
    return subprocess.run([*script, *args], cwd=ROOT, env={**env, **({"PYTHONPATH": str(ROOT)}
                          if backend != "jax" else {})}, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_smoke_check_reports_every_figure(tmp_path):
    out = tmp_path / "results-gpu.json"
    done = _run(tmp_path, "--smoke", "--strategies", "scratch", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["machine"]["platform"] == "cpu" and results["machine"]["keras"]
    scratch = results["throughput"]["scratch"]
    assert scratch["error"] is None and scratch["train_img_s"] > 0
    assert 0 < scratch["input_share_upper_bound"] < 1  # the feeder's time was measured, and is not all of it
    assert results["extract_img_s"] > 0
    assert results["paper_run"]["status"] == "finished" and set(results["paper_run"]["strategy_s"]) == {"scratch"}
    assert results["peak_device_mb"] is None  # the CPU keeps no allocator statistics: none is made up
    assert json.loads(done.stdout) == results


def test_it_refuses_another_backend_and_unknown_strategies_in_one_line(tmp_path):
    done = _run(tmp_path, "--smoke", backend="tensorflow")
    assert done.returncode == 2 and "KERAS_BACKEND=jax" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = _run(tmp_path, "--smoke", "--strategies", "probe", backend="tensorflow")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
