"""The run store: lazy creation, the folder layout, tolerant reading, damaged and interrupted runs."""

from __future__ import annotations

import json
import os
import time

import pytest
from events_factory import full_run, run_started

from cifar_tui.engine.errors import ConfigError, StoreError
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.ids import new_run_id, validate_name
from cifar_tui.engine.store.reader import list_runs, load_run, read_events
from cifar_tui.engine.store.recorder import RunRecorder


def record(runs_dir, stream, run_id="20270115-080000-demo-abcd", **kw):
    recorder = RunRecorder(runs_dir, run_id, **kw)
    for e in stream:
        recorder(e)
    recorder.close()
    return recorder


def test_nothing_is_written_before_the_run_starts(tmp_path):
    recorder = RunRecorder(tmp_path / "runs", "20270115-080000-x-0000")
    recorder(ev.RunFinished(status="failed", seconds=0.1, error="no data"))
    recorder.close()
    assert not (tmp_path / "runs").exists()


def test_run_folder_layout_and_round_trip(tmp_path):
    stream = full_run()
    recorder = record(tmp_path, stream, batch_every_s=0.0)
    folder = recorder.path
    config = json.loads((folder / paths.CONFIG_FILE).read_text())
    assert config["format_version"] == paths.FORMAT_VERSION and config["config"]["name"] == "demo"
    summary = json.loads((folder / paths.SUMMARY_FILE).read_text())
    assert summary["status"] == "finished"
    assert summary["strategies"]["frozen"]["test_accuracy"] == 0.8
    assert summary["strategies"]["finetune"]["best_epoch"] == 3
    events, skipped = read_events(folder / paths.EVENTS_FILE)
    assert skipped == [] and [e.type for e in events] == [e.type for e in stream]
    cm_lines = (folder / "strategies" / "scratch" / "confusion_matrix.csv").read_text().splitlines()
    assert cm_lines[0].startswith("true \\ predicted,airplane") and len(cm_lines) == 11
    assert sum(int(v) for line in cm_lines[1:] for v in line.split(",")[1:]) == 40
    writer = json.loads((folder / paths.WRITER_FILE).read_text())
    assert writer["pid"] == os.getpid() and writer["alive"] is False


def test_batch_events_are_thinned_but_epochs_kept(tmp_path):
    stream = full_run()
    recorder = record(tmp_path, stream, batch_every_s=3600)
    events, _ = read_events(recorder.path / paths.EVENTS_FILE)
    batches = [e for e in events if e.type == "batch_end"]
    assert 0 < len(batches) < len([e for e in stream if e.type == "batch_end"])
    for name in ("scratch", "frozen", "finetune"):
        mine = [b for b in batches if b.strategy == name]
        assert mine[0].step == 1 and all(b.step == b.steps for b in mine[1:])  # the first, then epoch ends
    assert len([e for e in events if e.type == "epoch_end"]) == 9


def test_listing_damaged_torn_and_newer_runs(tmp_path):
    good = record(tmp_path, full_run("20270115-080000-good-0001"), "20270115-080000-good-0001").path
    torn = record(tmp_path, full_run("20270115-090000-torn-0002"), "20270115-090000-torn-0002").path
    (torn / paths.SUMMARY_FILE).unlink()
    with open(torn / paths.EVENTS_FILE, "a") as f:
        f.write('{"type":"epoch_end","strat')  # a crash mid-write
    damaged = tmp_path / "20270115-100000-junk-0003"
    damaged.mkdir()
    (damaged / paths.SUMMARY_FILE).write_text("{not json")
    newer = tmp_path / "20270115-110000-newer-0004"
    newer.mkdir()
    (newer / paths.SUMMARY_FILE).write_text(json.dumps({"format_version": 99, "status": "finished"}))

    by_id = {r.run_id: r for r in list_runs(tmp_path)}
    assert by_id[good.name].status == "finished"
    assert by_id[torn.name].status == "finished"  # rebuilt from events; torn line skipped
    assert by_id[damaged.name].status == "damaged"
    assert by_id[newer.name].status == "damaged" and "format 99" in by_id[newer.name].problem
    loaded = load_run(tmp_path, torn.name)
    assert loaded.skipped_lines and "torn last line" in loaded.skipped_lines[0]
    assert loaded.state.strategies["frozen"].test_accuracy == 0.8
    with pytest.raises(StoreError, match="newer cifar-tui"):
        load_run(tmp_path, newer.name)


def test_a_late_heartbeat_with_the_lock_held_is_quiet_and_a_free_lock_is_interrupted(tmp_path, monkeypatch):
    from cifar_tui.engine.store import liveness

    recorder = RunRecorder(tmp_path, "20270115-080000-live-0001", heartbeat_s=3600)
    recorder(run_started("20270115-080000-live-0001"))
    assert list_runs(tmp_path)[0].status == "running" and list_runs(tmp_path)[0].quiet_s is None
    writer = json.loads((recorder.path / paths.WRITER_FILE).read_text())
    writer["heartbeat"], writer["monotonic"] = time.time() - 3600, time.monotonic() - 3600
    (recorder.path / paths.WRITER_FILE).write_text(json.dumps(writer))
    (listing,) = list_runs(tmp_path)  # its writer holds the lock: stopped (Ctrl-Z) or busy, not dead
    assert listing.status == "running" and listing.status_text == "running, no heartbeat for 3600 s"
    monkeypatch.setattr(liveness.time, "time", lambda: 0.0)  # the wall clock stepped back: same reading
    assert list_runs(tmp_path)[0].status_text == "running, no heartbeat for 3600 s"
    monkeypatch.undo()
    recorder._stop_heartbeat.set()
    recorder._run_lock.release()  # as the kernel does when the writer dies
    assert list_runs(tmp_path)[0].status == "interrupted"
    assert load_run(tmp_path, "live").state.status == "interrupted"


def test_resolve_by_fragment_and_latest(tmp_path):
    record(tmp_path, full_run("20270115-080000-alpha-0001"), "20270115-080000-alpha-0001")
    record(tmp_path, full_run("20270116-080000-beta-0002"), "20270116-080000-beta-0002")
    assert load_run(tmp_path, "alpha").listing.run_id.endswith("alpha-0001")
    assert load_run(tmp_path, "latest").listing.run_id.endswith("beta-0002")
    with pytest.raises(StoreError, match="matches 2 runs"):
        load_run(tmp_path, "2027011")
    with pytest.raises(ConfigError):
        load_run(tmp_path, "../etc")


def test_existing_folder_is_never_written_into(tmp_path):
    (tmp_path / "20270115-080000-demo-abcd").mkdir()
    with pytest.raises(StoreError, match="already exists"):
        record(tmp_path, full_run())


def test_unwritable_runs_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create run folder"):
        record(blocker / "runs", full_run())


def test_run_ids_unique_and_names_safe():
    ids = {new_run_id("x") for _ in range(200)}
    assert len(ids) == 200
    for bad in ("../x", "a/b", "a\\b", "..", ".hidden", "x" * 65, "a b"):
        with pytest.raises(ConfigError):
            validate_name(bad)
    assert validate_name("seed-1_lr.1e-5") == "seed-1_lr.1e-5"


def test_state_summary_matches_events():
    state = RunState.from_events(full_run())
    s = state.summary()
    assert s["status"] == "finished"
    assert [h["epoch"] for h in state.strategies["finetune"].history] == [1, 2, 3]
    assert state.strategies["finetune"].phase_starts == [("head", 1), ("finetune", 2)]
    assert s["strategies"]["scratch"]["images_per_s"] == 100.0
