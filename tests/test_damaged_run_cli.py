"""A run folder whose events file holds no readable event is refused in one line naming it damaged, by
`runs show`, `runs export`, `runs compare` and `resume` (they printed an empty "pending" run with "dataset
None" and exited 0); a damaged study record is listed as damaged by `studies list` (it was left out)."""

from __future__ import annotations

import pytest
from events_factory import record_runs
from typer.testing import CliRunner

from cifar_tui.cli.main import app as cli

GOOD, BAD = "20270115-080000-good-0001", "20270116-080000-bad-0002"


def damage(runs) -> None:
    record_runs(runs, (GOOD, BAD))
    (runs / BAD / "events.jsonl").write_text("not json\n")
    (runs / BAD / "summary.json").write_text("[1, 2, 3]")


@pytest.mark.parametrize("command", [["runs", "show", BAD], ["runs", "export", BAD], ["runs", "compare", GOOD, BAD],
                                     ["resume", BAD]])
def test_a_run_with_no_readable_event_is_refused_in_one_line(tmp_path, command):
    damage(tmp_path)
    result = CliRunner().invoke(cli, [*command, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"run {BAD} is damaged" in lines[0] and "1 unreadable line" in lines[0], lines
    assert not (tmp_path / BAD / "report.md").exists() and not list(tmp_path.glob("*.md"))


def test_the_good_run_beside_it_still_shows(tmp_path):
    damage(tmp_path)
    result = CliRunner().invoke(cli, ["runs", "show", GOOD, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0 and "finished" in result.output


def test_studies_list_names_a_damaged_study_record(tmp_path):
    folder = tmp_path / ".studies" / "broken"
    folder.mkdir(parents=True)
    (folder / "study.json").write_text("garbage")
    result = CliRunner().invoke(cli, ["studies", "list", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "broken" in result.output and "damaged" in result.output, result.output


def test_studies_show_says_how_to_start_a_damaged_study_afresh(tmp_path):
    folder = tmp_path / ".studies" / "broken"
    folder.mkdir(parents=True)
    (folder / "study.json").write_text("garbage")
    result = CliRunner().invoke(cli, ["studies", "show", "broken", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and f"delete {folder} to run the study afresh" in result.output, result.output


def test_a_run_being_created_is_not_called_damaged(tmp_path):
    """Its folder and lock exist before its writer.json and first event: in that moment it was refused."""
    from cifar_tui.engine.store.lock import RunLock
    from cifar_tui.engine.store.reader import load_run

    folder = tmp_path / "20270117-080000-new-0003"
    folder.mkdir()
    (folder / "events.jsonl").write_text("")
    lock = RunLock(folder).acquire()
    try:
        assert load_run(tmp_path, folder.name).state.status == "pending"
    finally:
        lock.release()


@pytest.mark.parametrize("events", [b"not json\n\x00\xff garbage\n", None])
def test_garbage_or_missing_events_read_as_damaged_in_every_view_though_the_summary_says_finished(tmp_path, events):
    """`runs list` read summary.json alone ("finished", with accuracies) while `runs show` refused the run."""
    import json

    from cifar_tui.engine.store.reader import list_runs, read_listing

    record_runs(tmp_path, (GOOD, BAD))
    if events is None:
        (tmp_path / BAD / "events.jsonl").unlink()
    else:
        (tmp_path / BAD / "events.jsonl").write_bytes(events)
    listed = CliRunner().invoke(cli, ["runs", "list", "--runs-dir", str(tmp_path)]).output.splitlines()
    bad = next(line for line in listed if line.startswith(BAD))
    assert bad.split()[1] == "damaged" and "90.0" not in bad, listed
    as_json = json.loads(CliRunner().invoke(cli, ["runs", "list", "--json", "--runs-dir", str(tmp_path)]).output)
    assert {r["run_id"]: r["status"] for r in as_json} == {GOOD: "finished", BAD: "damaged"}
    assert read_listing(tmp_path / BAD).status == "damaged"  # the Runs screen's and the studies' reading
    assert [r.status for r in list_runs(tmp_path)] == ["damaged", "finished"]
    shown = CliRunner().invoke(cli, ["runs", "show", BAD, "--runs-dir", str(tmp_path)])
    assert shown.exit_code == 2 and f"run {BAD} is damaged" in shown.output
