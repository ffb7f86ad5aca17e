"""A live run is never declared dead, nor deleted, while its writer lives (issue #26 section 1).

On this host the run's lock is the truth: a writer stopped by `kill -STOP` holds it, and its run reads
"running, no heartbeat for N s", is never deleted, and goes on once continued. A writer elsewhere is judged
by its heartbeat on the clocks that wrote it. A writer whose folder is deleted stops with one line and
makes no partial folder again."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from events_factory import run_started

from cifar_tui.engine.errors import RunFolderGone, StoreError
from cifar_tui.engine.store import liveness, paths, reader
from cifar_tui.engine.store.reader import delete_run, list_runs, load_run
from cifar_tui.engine.store.recorder import RunRecorder
from cifar_tui.render.tables import runs_lines

RUN_ID = "20270115-080000-live-0001"
ROOT = Path(__file__).resolve().parent.parent


def quick_staleness(monkeypatch, seconds: float) -> None:
    """Heartbeats older than `seconds` count as late (30 s in use), on every reader."""
    monkeypatch.setattr(liveness, "STALE_AFTER_S", seconds)
    monkeypatch.setattr(reader, "STALE_AFTER_S", seconds, raising=False)


# A real writer process (no TensorFlow: the recorder a run uses, fed a batch event every 20 ms)
WRITER = """
import sys, time
from events_factory import run_started
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.errors import RunFolderGone
from cifar_tui.engine.store.recorder import RunRecorder
recorder = RunRecorder(sys.argv[1], sys.argv[2], heartbeat_s=0.2)
recorder(run_started(sys.argv[2]))
try:
    for step in range(100_000):
        recorder(ev.BatchEnd(strategy="scratch", phase="train", epoch=1, step=step % 50 + 1, steps=50, loss=1.0,
                             accuracy=0.5, images_per_s=100.0))
        time.sleep(0.02)
except RunFolderGone as exc:
    print(exc, file=sys.stderr)
    sys.exit(74)
"""


def writer_process(runs_dir):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)])}
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(runs_dir), RUN_ID], env=env,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (runs_dir / RUN_ID / paths.WRITER_FILE).exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    return process


def test_a_stopped_writer_is_running_quiet_is_never_deleted_and_stops_once_its_folder_is_gone(tmp_path,
                                                                                             monkeypatch):
    quick_staleness(monkeypatch, 1.0)
    process = writer_process(tmp_path)
    folder = tmp_path / RUN_ID
    try:
        time.sleep(0.5)
        assert list_runs(tmp_path)[0].quiet_s is None
        os.kill(process.pid, signal.SIGSTOP)  # Ctrl-Z in its terminal
        time.sleep(1.5)
        (listing,) = list_runs(tmp_path)
        assert listing.status == "running" and listing.quiet_s >= 1.0, listing
        assert f"{RUN_ID}: running, no heartbeat for" in "\n".join(runs_lines([listing]))
        assert load_run(tmp_path, "latest").listing.status == "running"
        with pytest.raises(StoreError, match=f"still being written by pid {process.pid}.*kill -CONT"):
            delete_run(tmp_path, RUN_ID)
        assert (folder / paths.EVENTS_FILE).exists()
        os.kill(process.pid, signal.SIGCONT)
        time.sleep(0.5)
        assert list_runs(tmp_path)[0].quiet_s is None  # beating again
        shutil.rmtree(folder)  # another tool removes it behind the writer's back
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
    assert process.returncode == 74, err
    assert err.strip() == (f"run folder {folder} was deleted while this run was writing it; "
                           "the run stopped, and nothing more is written"), err
    time.sleep(0.3)  # its heartbeat thread is gone with it
    assert not folder.exists()


def test_a_killed_writer_is_interrupted_at_once_and_can_be_deleted(tmp_path):
    recorder = RunRecorder(tmp_path, RUN_ID, heartbeat_s=3600)
    recorder(run_started(RUN_ID))
    assert list_runs(tmp_path)[0].status == "running"
    recorder._stop_heartbeat.set()
    recorder._run_lock.release()  # what the kernel does when its holder dies: writer.json still says alive
    assert json.loads((recorder.path / paths.WRITER_FILE).read_text())["alive"] is True
    assert list_runs(tmp_path)[0].status == "interrupted"
    assert load_run(tmp_path, "live").state.status == "interrupted"
    delete_run(tmp_path, RUN_ID)
    assert not recorder.path.exists()


def elsewhere(folder, heartbeat: float, age_s: float) -> None:
    """writer.json as a writer on another host leaves it: its own clock's `heartbeat`, written `age_s` ago
    by this filesystem's clock; no lock seen from here."""
    info = {"pid": 4242, "host": "another-host", "boot": "another-boot", "started": heartbeat,
            "heartbeat": heartbeat, "monotonic": 12.5, "beats": 9, "alive": True}
    (folder / paths.WRITER_FILE).write_text(json.dumps(info))
    stamp = time.time() - age_s
    os.utime(folder / paths.WRITER_FILE, (stamp, stamp))


@pytest.mark.parametrize("clock_offset_s", [-3600.0, 0.0, 3600.0])
def test_a_writer_elsewhere_is_judged_on_the_clock_that_stamped_its_heartbeat(tmp_path, clock_offset_s):
    recorder = RunRecorder(tmp_path, RUN_ID, heartbeat_s=3600)
    recorder(run_started(RUN_ID))
    recorder._stop_heartbeat.set()
    recorder._run_lock.release()  # on a network disk the remote writer's lock is not seen here
    elsewhere(recorder.path, time.time() + clock_offset_s, age_s=2.0)
    assert list_runs(tmp_path)[0].status == "running"  # beat 2 s ago, whatever its clock reads
    with pytest.raises(StoreError, match="still being written by pid 4242"):
        delete_run(tmp_path, RUN_ID)
    elsewhere(recorder.path, time.time() + clock_offset_s, age_s=liveness.STALE_AFTER_S + 30)
    assert list_runs(tmp_path)[0].status == "interrupted"
    assert not list(recorder.path.glob(".clock-*"))  # the filesystem's clock was read by a probe, removed


def test_a_writer_whose_folder_was_deleted_stops_and_makes_nothing_again(tmp_path):
    from events_factory import full_run

    stream = full_run(RUN_ID)
    recorder = RunRecorder(tmp_path, RUN_ID, heartbeat_s=0.05)
    recorder(stream[0])
    shutil.rmtree(recorder.path)
    with pytest.raises(RunFolderGone, match="was deleted while this run was writing it"):
        recorder(stream[1])
    for event in stream[2:]:  # what a run would still send: strategy files, predictions, its end
        recorder(event)
    time.sleep(0.2)  # heartbeats come and go
    recorder.close()
    assert not recorder.path.exists()
    recorder.path.mkdir()  # another folder in its place is not this run's either
    assert not list(recorder.path.iterdir())


def test_a_checkpoint_of_a_deleted_run_folder_is_never_written_nor_its_folder_made(tmp_path):
    from cifar_tui.engine.training.checkpoints import Checkpointer

    run_folder = tmp_path / RUN_ID
    checkpointer = Checkpointer(run_folder / "checkpoints" / "scratch", "scratch", 0, None, None)
    error = checkpointer.write_failed(FileNotFoundError(2, "No such file or directory"), 1)
    assert isinstance(error, RunFolderGone) and "intact" not in str(error)
    with pytest.raises(FileNotFoundError):
        checkpointer.save(1)
    assert not run_folder.exists()


def late_heartbeat(recorder: RunRecorder, seconds: float) -> None:
    """The writer's last beat `seconds` ago on each of its clocks: stopped (Ctrl-Z) with its lock held."""
    recorder._stop_heartbeat.set()
    info = json.loads((recorder.path / paths.WRITER_FILE).read_text())
    info["heartbeat"], info["monotonic"] = time.time() - seconds, time.monotonic() - seconds
    (recorder.path / paths.WRITER_FILE).write_text(json.dumps(info))


async def test_the_runs_screen_shows_a_stopped_writer_quiet_and_never_deletes_it(tmp_path):
    from test_app import cell_text, open_runs_screen, select_run

    from cifar_tui.app.app import CifarTuiApp

    recorder = RunRecorder(tmp_path, RUN_ID, heartbeat_s=3600)
    recorder(run_started(RUN_ID))
    late_heartbeat(recorder, 35)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 1)
        assert cell_text(table, 0, 1) == "running, quiet"
        status_line = str(app.screen.query_one("#runs-status").render())
        assert re.search(r"\(1 quiet: no heartbeat for (3[5-9]|[4-9]\d) s\)", status_line), status_line
        select_run(table, RUN_ID)
        await pilot.press("d")
        await pilot.pause(0.1)
        await pilot.press("y")
        await pilot.pause(0.3)
    assert (recorder.path / paths.EVENTS_FILE).exists()
    recorder.close()
