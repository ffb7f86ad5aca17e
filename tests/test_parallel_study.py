"""`study --parallel N` on one host: the user's CUDA_VISIBLE_DEVICES is subdivided, and an orphaned child of a
killed parent is waited for, not doubled. Children are stand-ins (a few lines of Python), so no training."""

from __future__ import annotations

import json
import subprocess
import sys

from cifar_tui.engine.study import parallel
from cifar_tui.engine.study.record import new_record, save_record
from cifar_tui.engine.study.spec import parse_spec

SPEC = {"name": "par", "x": "seed", "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch"]},
        "axes": {"seed": [0, 1, 2]}}


def stand_in_children(monkeypatch, marks):
    """Each child writes when it started and the CUDA_VISIBLE_DEVICES it was given, then exits."""
    def child_command(config_file, run_id, runs_dir):
        code = (f"import json, os, time; open({str(marks)!r} + '/' + {run_id!r}, 'w').write(json.dumps("
                f"{{'gpu': os.environ.get('CUDA_VISIBLE_DEVICES', 'unset'), 'at': time.time()}}))")
        return [sys.executable, "-c", code]

    marks.mkdir()
    monkeypatch.setattr(parallel, "child_command", child_command)


def launched(marks) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(marks.iterdir())]


def test_children_subdivide_the_users_cuda_visible_devices(monkeypatch, tmp_path):
    assert parallel.visible_gpus({"CUDA_VISIBLE_DEVICES": "5,GPU-1f2e"}) == ["5", "GPU-1f2e"]
    assert parallel.visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == parallel.visible_gpus({"CUDA_VISIBLE_DEVICES": ""})
    assert parallel.visible_gpus({"CUDA_VISIBLE_DEVICES": "3,-1,4"}) == ["3"]  # CUDA stops at the first bad one
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    stand_in_children(monkeypatch, tmp_path / "marks")
    parallel.run_study_parallel(parse_spec(SPEC), tmp_path / "runs", parallel=4)
    gpus = [m["gpu"] for m in launched(tmp_path / "marks")]
    assert len(gpus) == 3 and set(gpus) <= {"5", "7"}  # 2 slots (the 2 GPUs the user left visible), never 0-3


def test_an_orphaned_child_still_writing_is_waited_for_not_started_twice(monkeypatch, tmp_path):
    spec, runs = parse_spec(SPEC), tmp_path / "runs"
    record = new_record(spec)
    orphan_run = "20260101-000000-par-000-0000abcd"
    record.cells[0].run_ids.append(orphan_run)
    save_record(runs, record)
    (runs / orphan_run).mkdir(parents=True)
    holds_the_lock = ("import sys, time; from cifar_tui.engine.store.lock import RunLock; "
                      f"RunLock({str(runs / orphan_run)!r}).acquire(); print('locked', flush=True); time.sleep(3); "
                      "print(time.time(), flush=True)")  # the lock goes with the process, just after
    orphan = subprocess.Popen([sys.executable, "-c", holds_the_lock], stdout=subprocess.PIPE, text=True)
    assert orphan.stdout.readline().strip() == "locked"  # the killed parent's child, still writing its run
    stand_in_children(monkeypatch, tmp_path / "marks")
    parallel.run_study_parallel(spec, runs, parallel=2, gpus=[])
    ended = float(orphan.stdout.readline())
    orphan.wait()
    marks = {p.name: json.loads(p.read_text()) for p in (tmp_path / "marks").iterdir()}
    assert orphan_run not in marks  # its run never got a second writer
    from cifar_tui.engine.study.record import load_record

    cell0 = load_record(runs, "par").cells[0]
    assert cell0.run_ids[0] == orphan_run and len(cell0.run_ids) == 2  # after it ended: a new run (it left none)
    assert marks[cell0.run_id]["at"] > ended  # started only once the orphan had let go
