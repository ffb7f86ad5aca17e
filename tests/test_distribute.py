"""Distribution on CPU: two logical devices under MirroredStrategy match one device with the same global
batch (same steps, accuracy within tolerance); steps_per_execution and the device record."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import ConfigError

BASE = ["run", "--dataset", "digits", "--strategies", "scratch", "--epochs", "3", "--train-per-class", "60",
        "--no-augment", "--plain", "--seed", "3", "--test-limit", "300"]


def run_cli(runs_dir, *extra):
    code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    out = subprocess.run([sys.executable, "-c", code, *BASE, *extra, "--runs-dir", str(runs_dir), "--json"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.mark.slow
def test_two_logical_cpus_match_one_device_with_the_same_global_batch(tmp_path):
    single = run_cli(tmp_path, "--batch-size", "32")
    mirrored = run_cli(tmp_path, "--batch-size", "16", "--gpus", "cpu:2", "--no-scale-lr")
    assert single["environment"]["replicas"] == 1 and mirrored["environment"]["replicas"] == 2
    assert mirrored["environment"]["distribution"] == "MirroredStrategy over cpu:2"
    assert mirrored["config"]["gpus"] == "cpu:2"
    runs = {}
    for summary in (single, mirrored):
        events = [json.loads(line) for line in open(tmp_path / summary["run_id"] / "events.jsonl")]
        started = next(e for e in events if e["type"] == "strategy_started")
        runs[summary["run_id"]] = started["steps_per_epoch"]
    assert len(set(runs.values())) == 1  # same global batch: the same number of steps per epoch
    a = single["strategies"]["scratch"]["test_accuracy"]
    b = mirrored["strategies"]["scratch"]["test_accuracy"]
    assert a > 0.3 and b > 0.3  # both learned (chance is 0.1)
    assert abs(a - b) < 0.15, (a, b)


def test_gpus_syntax_is_checked_without_tensorflow():
    for good in ("", "all", "0", "0,1", "cpu:2"):
        ExperimentConfig(gpus=good).validate()
    for bad in ("gpu0", "0,0", "cpu:0", "1;rm"):
        with pytest.raises(ConfigError, match="gpus must be"):
            ExperimentConfig(gpus=bad).validate()
    with pytest.raises(ConfigError, match="steps per execution"):
        ExperimentConfig(steps_per_execution=0).validate()


@pytest.mark.slow
def test_steps_per_execution_trains_and_reports_every_epoch(tmp_path):
    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.run.session import record_and_run

    config = ExperimentConfig(dataset="digits", strategies=("scratch",), scratch_epochs=2, train_per_class=40,
                              batch_size=16, steps_per_execution=4, test_limit=100, augment=False)
    seen = []
    outcome = record_and_run(config, tmp_path, display=seen.append, redirect_native_log=False)
    assert outcome.summary["config"]["steps_per_execution"] == 4
    assert [e.epoch for e in seen if isinstance(e, ev.EpochEnd)] == [1, 2]
    steps = [e.step for e in seen if isinstance(e, ev.BatchEnd) and e.epoch == 1]
    # 40 x 10 = 400 training images at batch 16: 25 steps, one event per compiled call of 4, the last clamped
    assert steps == [4, 8, 12, 16, 20, 24, 25]


def test_tf_config_is_refused_in_one_line_not_half_supported(tmp_path):
    """Multi-host training was never real (every worker would record its own run): say so before running."""
    import os
    import subprocess
    import sys

    tf_config = '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}}'
    env = {**os.environ, "TF_CONFIG": tf_config}
    done = subprocess.run([sys.executable, "-m", "cifar_tui", "run", "--preset", "quick", "--runs-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "multi-host training is not supported" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not any(tmp_path.iterdir())
