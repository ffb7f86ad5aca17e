"""`make install` leaves exactly one TensorFlow (issue #27 part 7): tensorflow-cpu and tensorflow
(`[and-cuda]`) install the same files, and the Makefile picks the GPU one when `nvidia-smi -L` works.
Run against a fake venv whose `python -m pip` keeps a list of installed distributions, and a fake
nvidia-smi: the Makefile's own commands, nothing downloaded."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/usr/bin/env bash
# python -m pip {install,uninstall,show}: recorded in pip.log; installed distributions in installed.txt.
here="$(dirname "$0")/.."
echo "$*" >> "$here/pip.log"
[ "$1 $2" = "-m pip" ] || exit 0
touch "$here/installed.txt"
case "$3" in
  show) grep -qx "${@: -1}" "$here/installed.txt";;
  uninstall) for name in "${@:4}"; do sed -i "/^$name\\$/d" "$here/installed.txt"; done;;
  install) case "$*" in
      *'[gpu,dev]'*) grep -qx tensorflow "$here/installed.txt" || echo tensorflow >> "$here/installed.txt";;
      *'[cpu,dev]'*) grep -qx tensorflow-cpu "$here/installed.txt" || echo tensorflow-cpu >> "$here/installed.txt";;
    esac;;
esac
"""


def fake_venv(tmp_path: Path, installed: list[str]) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    (venv / "installed.txt").write_text("".join(f"{name}\n" for name in installed))
    return venv


def make_install(tmp_path: Path, venv: Path, gpu: bool) -> list[str]:
    """`make install` with an nvidia-smi on PATH that lists a GPU (or fails, as without a driver)."""
    bin_dir = tmp_path / ("gpu-bin" if gpu else "cpu-bin")
    bin_dir.mkdir(exist_ok=True)
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'\n" if gpu
                   else "#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    smi.chmod(0o755)
    (venv / "pip.log").write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("TF_EXTRA", None)
    done = subprocess.run(["make", "-s", "install", f"VENV={venv}"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return (venv / "pip.log").read_text().splitlines()


def installed(venv: Path) -> list[str]:
    return sorted((venv / "installed.txt").read_text().split())


pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def test_switching_to_the_gpu_extra_removes_tensorflow_cpu_first(tmp_path):
    venv = fake_venv(tmp_path, ["keras", "tensorflow-cpu"])
    log = make_install(tmp_path, venv, gpu=True)
    assert installed(venv) == ["keras", "tensorflow"]
    uninstall = next(i for i, line in enumerate(log) if line.startswith("-m pip uninstall"))
    install = next(i for i, line in enumerate(log) if "[gpu,dev]" in line)
    assert uninstall < install and "tensorflow-cpu" in log[uninstall].split()
    assert (venv / ".installed-gpu").exists()


def test_and_back_to_the_cpu_extra(tmp_path):
    venv = fake_venv(tmp_path, ["tensorflow"])
    make_install(tmp_path, venv, gpu=False)
    assert installed(venv) == ["tensorflow-cpu"] and (venv / ".installed-cpu").exists()


def test_a_venv_with_both_gets_the_chosen_one_reinstalled_whole(tmp_path):
    venv = fake_venv(tmp_path, ["tensorflow", "tensorflow-cpu"])
    log = make_install(tmp_path, venv, gpu=True)
    uninstall = next(line for line in log if line.startswith("-m pip uninstall")).split()
    assert {"tensorflow", "tensorflow-cpu"} <= set(uninstall)  # the shared files were half removed
    assert installed(venv) == ["tensorflow"]


def test_a_venv_already_on_its_extra_uninstalls_nothing(tmp_path):
    venv = fake_venv(tmp_path, ["tensorflow-cpu"])
    log = make_install(tmp_path, venv, gpu=False)
    assert not any(line.startswith("-m pip uninstall") for line in log)
    assert installed(venv) == ["tensorflow-cpu"]
