"""bench/gpu_check.sh (issues #14 part 4, #27): one deadline for every phase, results written after each,
a hang still ends with a file, and the refusals. The whole check at its smoke size runs in CI through
`make gpu-rehearse` (bench/gpu_rehearse.sh), in an environment like the GPU machine's; the GPU figures
themselves are measured only there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.gpu_results import EXIT_KILLED, Deadline, Results
from bench.gpu_summary import problems, summary_lines

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path, *args, backend="jax", direct=False):
    """The check through bench/gpu_check.sh (the JAX backend), or its module directly (`direct`, or
    another backend: refused before Keras is imported)."""
    env = {**os.environ, "PYTHON": sys.executable, "KERAS_BACKEND": backend, "KERAS_HOME": str(tmp_path / "keras"),
           "TMPDIR": str(tmp_path), "GPU_WHEELS": str(tmp_path / "no-wheels"), "PYTHONPATH": str(ROOT)}
    script = [sys.executable, "-m", "bench.gpu_check"] if direct or backend != "jax" else \
        ["bash", str(ROOT / "bench" / "gpu_check.sh")]
    return subprocess.run([*script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_every_phase_is_recorded_as_it_ends_and_honours_the_deadline(tmp_path):
    out = tmp_path / "results.json"
    results = Results(out, {"what": "test"}, Deadline(0.6))
    with results.phase("first") as (record, stop):
        record["figure"] = 1.5
    on_disk = json.loads(out.read_text())
    assert on_disk["phases"]["first"]["status"] == "done" and on_disk["phases"]["first"]["figure"] == 1.5
    assert on_disk["status"] == "running" and "seconds" in on_disk["phases"]["first"]
    with results.phase("broken") as (record, stop):
        raise ValueError("no device\nmore")
    with results.phase("waits") as (record, stop):
        assert stop.wait(5)  # set when the deadline passes
        record["stopped"] = True  # the body says it was cut short
    with results.phase("ignores") as (record, stop):
        assert stop.is_set()  # a body that finishes its work anyway is done
    with results.phase("late", min_s=1.0) as (record, stop):
        assert record is None and stop is None
    results.finish(total_s=1.0)
    phases = json.loads(out.read_text())["phases"]
    assert phases["broken"] == {**phases["broken"], "status": "failed", "error": "ValueError: no device"}
    assert phases["waits"]["status"] == "stopped at the deadline" and phases["late"]["status"] == "skipped: deadline"
    assert results.data["status"] == "incomplete: broken, waits, late" and results.failures() == [
        "broken: ValueError: no device"]
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # written atomically: no temporary left


def test_a_phase_that_never_returns_is_recorded_and_the_process_ends(tmp_path):
    out = tmp_path / "results.json"
    code = ("import time; from pathlib import Path; from bench.gpu_results import Deadline, Results\n"
            f"r = Results(Path({str(out)!r}), {{}}, Deadline(0.5)); r.start_watchdog(0.5)\n"
            "with r.phase('compile') as (record, stop):\n    time.sleep(60)  # an XLA compile cannot be stopped\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_KILLED and time.monotonic() - started < 30
    results = json.loads(out.read_text())
    assert results["status"] == "killed at the deadline during compile"
    assert results["phases"]["compile"]["status"] == "killed: still running after the deadline"
    assert "killed at the deadline during compile" in done.stderr


def test_a_spent_budget_skips_every_measurement_and_says_so(tmp_path, monkeypatch, capsys):
    """The check's own phases and deadline (JAX's facts and compile counter stubbed: this process runs
    Keras on TensorFlow; CI's rehearsal runs the real thing)."""
    from bench import gpu_check

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(gpu_check, "machine_facts", lambda: {"platform": "stub"})
    monkeypatch.setattr(gpu_check, "CompileCounter", lambda: None)
    monkeypatch.setattr(gpu_check, "peak_device_mb", lambda: None)
    out = tmp_path / "results-gpu.json"
    assert gpu_check.main(["--smoke", "--strategies", "scratch,finetune", "--budget-s", "0", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert {name: p["status"] for name, p in results["phases"].items()} == {
        "data": "done", "extraction": "skipped: deadline", "throughput:finetune": "skipped: deadline",
        "throughput:scratch": "skipped: deadline", "paper_run": "skipped: deadline"}  # the anchored one first
    assert results["status"] == "incomplete: extraction, throughput:finetune, throughput:scratch, paper_run"
    assert results["machine"] == {"platform": "stub"} and results["anchors"]["a100_train_img_s"] == 3454.0
    assert "extraction: skipped: deadline" in problems(results)
    assert json.loads(capsys.readouterr().out) == results


def test_the_summary_puts_each_figure_beside_its_anchor():
    results = {"size": "full", "status": "complete", "total_s": 250.0, "anchors": {"a100_train_img_s": 3454.0,
               "a100_infer_img_s": 9730.0, "source": "NVIDIA"},
               "machine": {"devices": ["NVIDIA H100 80GB HBM3"], "python": "3.12.3", "versions": {}},
               "phases": {"extraction": {"status": "done", "img_s": 9000.0, "image_size": 224, "precision": "mixed",
                                         "xla": True},
                          "throughput:finetune": {"status": "done", "train_img_s": 2000.0, "image_size": 224,
                                                  "strategy": {"status": "finished", "seconds": 60.0},
                                                  "settings": {"precision": "mixed", "xla": True}}}}
    text = "\n".join(summary_lines(results))
    assert "9,000 img/s at 224 px, mixed, XLA True (A100 anchor 9,730 img/s)" in text
    assert "2,000 img/s at 224 px, mixed, XLA True" in text and "(A100 anchor 3,454 img/s)" in text
    assert problems(results) == []
    results["phases"]["throughput:finetune"]["strategy"]["status"] = "cancelled"
    assert problems(results) == ["throughput:finetune finetune: cancelled"]


def test_it_refuses_another_backend_and_unknown_strategies_in_one_line(tmp_path):
    done = _run(tmp_path, "--smoke", backend="tensorflow")
    assert done.returncode == 2 and "KERAS_BACKEND=jax" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = _run(tmp_path, "--smoke", "--strategies", "probe", backend="tensorflow")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    done = _run(tmp_path, "--smoke", "--out", str(tmp_path / "missing" / "r.json"), backend="jax", direct=True)
    assert done.returncode == 2 and "no folder" in done.stderr and len(done.stderr.strip().splitlines()) == 1
