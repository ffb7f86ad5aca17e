"""`latest` is the run that started last, whatever time zone or daylight-saving change either started under
(issue #26 section 4): run ids are local-time text, so the order comes from each run's recorded start
(`started`, seconds since the epoch, UTC)."""

from __future__ import annotations

import calendar
import dataclasses
import os
import time

import pytest
from events_factory import full_run
from typer.testing import CliRunner

from cifar_tui.cli.main import app
from cifar_tui.engine.store.ids import new_run_id
from cifar_tui.engine.store.reader import list_runs, resolve_run
from cifar_tui.engine.store.recorder import RunRecorder

# (time zone, UTC start) of an older run, then of a newer one, whose ids sort the other way as text
CASES = {
    "Tokyo then UTC": (("Asia/Tokyo", "2027-01-15T08:00:00"), ("UTC", "2027-01-15T09:00:00")),
    "back from summer time": (("America/New_York", "2026-11-01T05:30:00"),  # 01:30 EDT
                              ("America/New_York", "2026-11-01T06:10:00")),  # 01:10 EST, an hour later
}


def utc(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))


def started_under(monkeypatch, zone: str, when: float, runs_dir, name: str) -> str:
    """A run recorded as it is when started at `when` (UTC) on a machine set to `zone`."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    run_id = new_run_id(name, now=when)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    recorder = RunRecorder(runs_dir, run_id)
    for event in full_run(run_id):
        recorder(dataclasses.replace(event, time=when + 1) if event.type != "run_started" else
                 dataclasses.replace(event, time=when))
    return run_id


@pytest.fixture
def in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("case", CASES)
def test_latest_and_newest_first_follow_the_true_start_whatever_the_zone(tmp_path, monkeypatch, in_utc, case):
    (old_zone, old_at), (new_zone, new_at) = CASES[case]
    older = started_under(monkeypatch, old_zone, utc(old_at), tmp_path, "older")
    newer = started_under(monkeypatch, new_zone, utc(new_at), tmp_path, "newer")
    assert sorted([older, newer])[-1] == older  # the ids alone name the wrong run
    assert [r.run_id for r in list_runs(tmp_path)] == [newer, older]
    assert resolve_run(tmp_path, "latest").name == newer


def test_every_command_that_takes_latest_takes_the_newest_start(tmp_path, monkeypatch, in_utc):
    (old_zone, old_at), (new_zone, new_at) = CASES["Tokyo then UTC"]
    started_under(monkeypatch, old_zone, utc(old_at), tmp_path, "older")
    newer = started_under(monkeypatch, new_zone, utc(new_at), tmp_path, "newer")
    cli = CliRunner()
    r = ["--runs-dir", str(tmp_path)]
    assert cli.invoke(app, ["runs", "list", *r]).stdout.splitlines()[1].startswith(newer)
    assert f"\nrun {newer}:" in cli.invoke(app, ["runs", "show", "latest", *r]).stdout  # after the verdict
    assert f"run {newer} finished; nothing to resume" in cli.invoke(app, ["resume", "latest", *r]).stderr
    assert f"runs show {newer}" in cli.invoke(app, ["watch", *r]).stderr  # no terminal: it names the run
    # `runs export latest` resolves `latest` as `runs show` does (resolve_run): its figures cost ~18 s here


async def test_the_runs_screen_lists_the_newest_start_first(tmp_path, monkeypatch, in_utc):
    from test_app import cell_text, open_runs_screen

    from cifar_tui.app.app import CifarTuiApp
    from cifar_tui.render.tables import short_id

    (old_zone, old_at), (new_zone, new_at) = CASES["Tokyo then UTC"]
    older = started_under(monkeypatch, old_zone, utc(old_at), tmp_path, "older")
    newer = started_under(monkeypatch, new_zone, utc(new_at), tmp_path, "newer")
    async with CifarTuiApp(tmp_path).run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 2)
        assert [cell_text(table, row, 0) for row in range(2)] == [short_id(newer), short_id(older)]
    assert os.environ["TZ"] == "UTC"
