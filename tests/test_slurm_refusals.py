"""A refused `study --executor slurm` submission: one line that names the fix where sbatch's words name a known
cause (a cluster without GPUs refuses the default GPU request), and no orphan submitit files (issue #26
section 7). sbatch, srun and squeue are stand-ins on PATH that answer as Slurm 22.05 does; submitit is real."""

from __future__ import annotations

import subprocess
import sys

import pytest


def cli(*args: str) -> subprocess.CompletedProcess:
    """The real command in its own process, as a user runs it (in-process, a refused submission once left the
    test worker's captured output closed, and every later test in that worker errored)."""
    code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args],
                          capture_output=True, text=True, timeout=300)

SPEC = """name = "refused"
x = "seed"
[base]
preset = "custom"
dataset = "digits"
strategies = ["scratch"]
scratch_epochs = 1
[axes]
seed = [0, 1]
"""
# What sbatch of Slurm 22.05 prints (seen on the one-node test cluster, tests/slurm_cluster.py), and the fix
REFUSALS = {
    "gres": (["Invalid generic resource (gres) specification"], 0, "fix: this cluster gives no GPUs that way: "
             "--gpus-per-task 0 (the tasks train on CPUs), or a --partition that has GPUs"),
    "partition": (["invalid partition specified: nope", "Batch job submission failed: Invalid partition name "
                   "specified"], 0, "fix: name one of `sinfo`'s partitions with --partition"),
    "memory": (["Memory specification can not be satisfied", "Batch job submission failed: Requested node "
                "configuration is not available"], 0, "fix: a smaller --mem-gb"),
}


@pytest.fixture
def slurm_that_refuses(tmp_path, monkeypatch):
    def refuse(lines: list[str]) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        said = "".join(f"echo 'sbatch: error: {line}' >&2\n" for line in lines)
        for name, script in (("sbatch", f"{said}exit 1"),
                             ("srun", "exit 0"), ("squeue", "exit 0")):
            (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
            (bin_dir / name).chmod(0o755)
        monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
        monkeypatch.setenv("CIFAR_TUI_SLURM_LOCAL_OK", "1")

    return refuse


@pytest.mark.parametrize("cause", REFUSALS)
def test_a_refused_submission_names_the_fix_in_its_line_and_leaves_no_submitit_files(tmp_path, slurm_that_refuses,
                                                                                    cause):
    lines, named, fix = REFUSALS[cause]
    slurm_that_refuses(lines)
    (tmp_path / "spec.toml").write_text(SPEC)
    runs = tmp_path / "runs"
    result = cli("study", str(tmp_path / "spec.toml"), "--executor", "slurm", "--runs-dir", str(runs))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == "", result.stderr
    assert result.stderr.startswith(f"cifar-tui: error: Slurm did not take the job array: sbatch: error: "
                                    f"{lines[named]}; {fix}"), result.stderr
    assert not (runs / ".studies" / "refused" / "slurm").exists()  # no pickles, no sbatch script


def test_with_no_gpu_asked_the_gres_refusal_names_no_gpu_fix(tmp_path, slurm_that_refuses):
    slurm_that_refuses(REFUSALS["gres"][0])
    (tmp_path / "spec.toml").write_text(SPEC)
    result = cli("study", str(tmp_path / "spec.toml"), "--executor", "slurm", "--gpus-per-task", "0",
                 "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2 and "--gpus-per-task 0" not in result.stderr, result.stderr
