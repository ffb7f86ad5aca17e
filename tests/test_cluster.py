"""Studies on a real one-node Slurm (tests/slurm_cluster.py): a job array end to end, and scancel + resume.

Skipped, with the reason, where Slurm is not installed or we are not root; `.ci/run` installs it, and
`make test-cluster` runs this file alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slurm_cluster import ClusterUnavailable, start, stop

from cifar_tui.engine.study.record import load_record

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
REPO = Path(__file__).resolve().parent.parent
SPEC = """name = "{name}"
x = "seed"
[base]
preset = "custom"
dataset = "digits"
strategies = ["scratch"]
scratch_epochs = {epochs}
train_fraction = {fraction}
batch_size = {batch}
test_limit = 50
[axes]
seed = {seeds}
[slurm]
gpus_per_task = 0   # the test cluster has no GPU
cpus_per_task = 1
time = 10
"""


@pytest.fixture(scope="session")
def slurm():
    try:
        cluster = start()
    except ClusterUnavailable as exc:
        pytest.skip(f"no Slurm for the cluster tests: {exc}")
    yield cluster
    stop(cluster)


def cli(slurm, *args: str, timeout: float = 300, local_ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, **slurm.env, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    if local_ok:  # pytest's tmp_path is under /tmp: fine on a one-host cluster, refused otherwise
        env["CIFAR_TUI_SLURM_LOCAL_OK"] = "1"
    else:
        env.pop("CIFAR_TUI_SLURM_LOCAL_OK", None)
    return subprocess.run([sys.executable, "-m", "cifar_tui", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def write_spec(tmp_path: Path, name: str, seeds: list[int], epochs: int = 1, fraction: float = 0.3,
               batch: int = 32) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(SPEC.format(name=name, seeds=seeds, epochs=epochs, fraction=fraction, batch=batch))
    return path


def test_a_study_runs_as_one_job_array_and_is_never_submitted_twice(slurm, tmp_path):
    spec, runs = write_spec(tmp_path, "array", [0, 1]), tmp_path / "runs"
    refused = cli(slurm, "study", str(spec), "--executor", "slurm", "--runs-dir", str(runs), local_ok=False)
    assert refused.returncode == 2 and "local to this host" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (runs / ".studies").exists()

    started = time.monotonic()
    done = cli(slurm, "study", str(spec), "--executor", "slurm", "--wait", "--runs-dir", str(runs))
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"2-cell job array on the test Slurm: {time.monotonic() - started:.1f} s")
    record = load_record(runs, "array")
    arrays = {c.job_id.split("_")[0] for c in record.cells}
    assert len(arrays) == 1 and sorted(c.job_id.split("_")[1] for c in record.cells) == ["0", "1"]
    accuracies = []
    for cell in record.cells:
        summary = json.loads((runs / cell.run_id / "summary.json").read_text())
        assert summary["status"] == "finished" and summary["config"]["seed"] == cell.key["seed"]
        accuracies.append(summary["strategies"]["scratch"]["test_accuracy"])
        assert f"starting run {cell.run_id}" in Path(cell.log).read_text()  # the task's own log
        status_file = runs / ".studies" / "array" / "cells" / f"cell-{cell.index:03d}.status.json"
        # the task writes its last status just after its run's summary: allow it a moment
        status = wait_for(lambda f=status_file: (s := json.loads(f.read_text()))["state"] == "finished" and s, 30,
                          "the task's final status")
        assert status["job_id"] == cell.job_id and status["node"]
    shown = cli(slurm, "studies", "show", "array", "--json", "--runs-dir", str(runs))
    condition = json.loads(shown.stdout)["conditions"][0]["strategies"]["scratch"]
    assert condition["n"] == 2 and condition["mean"] == pytest.approx(sum(accuracies) / 2)

    again = cli(slurm, "study", str(spec), "--executor", "slurm", "--runs-dir", str(runs))
    assert again.returncode == 0 and "nothing to submit" in again.stdout
    again_record = load_record(runs, "array")
    assert [c.job_id for c in again_record.cells] == [c.job_id for c in record.cells]
    assert [(c.state, bool(c.node)) for c in again_record.cells] == [("finished", True)] * 2  # written back


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def task_logs(stdout: Path, chars: int = 3000) -> str:
    """The ends of a submitit task's stdout and stderr files (`..._log.out`, `..._log.err`)."""
    out = []
    for path in (stdout, stdout.with_name(stdout.name.replace("_log.out", "_log.err"))):
        try:
            out.append(f"--- {path.name}:\n{path.read_text(errors='replace')[-chars:]}")
        except OSError as exc:
            out.append(f"--- {path.name}: {exc}")
    return "\n".join(out)


def epoch_of(checkpoint: Path) -> int:
    try:
        return json.loads(checkpoint.read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def test_a_task_requeued_at_its_time_limit_and_one_cancelled_both_resume_their_run(slurm, tmp_path):
    epochs = 10
    spec, runs = write_spec(tmp_path, "resume", [0], epochs=epochs, fraction=0.2, batch=8), tmp_path / "runs"
    started = time.monotonic()
    submitted = cli(slurm, "study", str(spec), "--executor", "slurm", "--runs-dir", str(runs))
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    first = load_record(runs, "resume").cells[0]
    checkpoint = runs / first.run_id / "checkpoints" / "scratch" / "state.json"
    wait_for(lambda: epoch_of(checkpoint) >= 1, 180, "the first epoch checkpoint")
    here = cli(slurm, "study", str(spec), "--runs-dir", str(runs))  # the same study on this host meanwhile
    assert here.returncode == 2 and "queued or running on Slurm" in here.stderr

    # 1. the time-limit warning Slurm sends (USR2, as `--signal=USR2@90` would): checkpoint, requeue, resume
    slurm.run("scancel", "--signal=USR2", first.job_id)
    wait_for(lambda: slurm.run("squeue", "--noheader", "--array", "--jobs", first.job_id, "--format", "%T",
                               check=False).stdout.strip() == "PENDING", 120, "the task to be requeued")
    stop_1 = epoch_of(checkpoint)

    seen = []

    def trains_on() -> bool:
        # Slurm holds a requeued job back until the node's revocation of its old credential has expired
        # (AuthInfo cred_expire, 15 s on the test cluster). Starting it sooner (`StartTime=now`) made the
        # launch fail now and then with "Job credential revoked" when it fell in the second of the requeue.
        # A launch that fails for another reason leaves the job held: then it is released.
        queue = slurm.run("squeue", "--noheader", "--jobs", first.job_id, "--format", "%T %r", check=False)
        node = slurm.run("sinfo", "--noheader", "--format", "%T", check=False).stdout.strip()
        seen[:] = [queue.stdout.strip() + queue.stderr.strip(), node]
        if "held" in queue.stdout.lower():
            seen.append(slurm.run("scontrol", "release", first.job_id, check=False).stderr)
        return epoch_of(checkpoint) > stop_1

    try:
        wait_for(trains_on, 180, "the requeued task to train on")
    except AssertionError as exc:
        job = slurm.run("scontrol", "show", "job", first.job_id, check=False).stdout
        nodes = slurm.run("sinfo", "--Node", "--long", check=False).stdout
        raise AssertionError(f"{exc}; last squeue / scontrol: {seen}\n{job}\n{nodes}\n"
                             f"{slurm.log_lines(first.job_id)}\n{task_logs(Path(first.log))}") from None
    assert f"resuming run {first.run_id}" in Path(first.log).read_text()

    # 2. `studies cancel` (scancel): the run stops at a batch; running the study again resumes it
    cancelled = cli(slurm, "studies", "cancel", "resume", "--runs-dir", str(runs))
    assert cancelled.returncode == 0 and first.job_id in cancelled.stdout
    shown = ("studies", "show", "resume", "--runs-dir", str(runs))
    wait_for(lambda: "cancelled (resubmitted" in cli(slurm, *shown).stdout, 90, "the task to leave the queue")
    assert json.loads((runs / first.run_id / "summary.json").read_text())["status"] in ("cancelled", "interrupted")
    stop_2 = epoch_of(checkpoint)
    assert stop_1 < stop_2 < epochs

    resumed = cli(slurm, "study", str(spec), "--executor", "slurm", "--wait", "--runs-dir", str(runs))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resubmitted (resumes its run)" in resumed.stdout
    print(f"requeue, cancel and resume on the test Slurm: {time.monotonic() - started:.1f} s")
    cell = load_record(runs, "resume").cells[0]
    assert cell.run_ids == [first.run_id] and cell.job_id != first.job_id  # one run throughout, a new job
    assert f"resuming run {first.run_id}" in Path(cell.log).read_text()
    from cifar_tui.engine.store.reader import load_run

    state = load_run(runs, first.run_id).state
    assert state.status == "finished" and state.resumes == 2
    assert [h["epoch"] for h in state.strategies["scratch"].history] == list(range(1, epochs + 1))
    events = [json.loads(line) for line in (runs / first.run_id / "events.jsonl").read_text().splitlines()]
    resumes = [i for i, e in enumerate(events) if e["type"] == "run_resumed"]
    assert [events[i]["from_epochs"] for i in resumes] == [{"scratch": stop_1}, {"scratch": stop_2}]  # checkpoints
    after_last = [e["epoch"] for e in events[resumes[-1]:] if e["type"] == "epoch_end"]
    assert after_last == list(range(stop_2 + 1, epochs + 1))  # continued, not started over


def test_a_cluster_without_gpus_refuses_the_default_gpu_request_with_its_fix_and_no_leftovers(slurm, tmp_path):
    """Issue #26: sbatch's raw gres error, and submitit's pickles and script left in the study's folder."""
    spec, runs = write_spec(tmp_path, "nogpu", [0]), tmp_path / "runs"
    spec.write_text(spec.read_text().replace("gpus_per_task = 0   # the test cluster has no GPU\n", ""))
    refused = cli(slurm, "study", str(spec), "--executor", "slurm", "--runs-dir", str(runs))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "Invalid generic resource (gres) specification; fix: " in refused.stderr
    assert "--gpus-per-task 0" in refused.stderr
    assert not (runs / ".studies" / "nogpu" / "slurm").exists()
