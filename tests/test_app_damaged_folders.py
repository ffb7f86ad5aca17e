"""The app never dies on one damaged run folder: every read happens in a worker, and anything a crafted
folder raises (here: JSON nested deeply enough to raise RecursionError, not one of the project's errors)
becomes a notification while the app stays up."""

from __future__ import annotations

from events_factory import record_runs
from test_app import cell_text, open_runs_screen, select_run, until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.live import RunViewScreen
from cifar_tui.app.screens.studies import StudiesScreen

GOOD, BAD = "20270115-080000-good-0001", "20270116-080000-bad-0002"
DEEP = "[" * 100_000 + "]" * 100_000  # valid JSON that Python's parser cannot nest


def seed(runs, damaged_file: str) -> None:
    record_runs(runs, (GOOD, BAD))
    path = runs / BAD / damaged_file
    path.write_text(path.read_text() + DEEP + "\n" if damaged_file == "events.jsonl" else DEEP)


def errors(app) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


async def still_up(pilot) -> None:
    await pilot.pause(0.2)
    assert pilot.app.is_running and pilot.app.return_code is None


async def test_opening_a_damaged_run_is_a_notification(tmp_path):
    seed(tmp_path, "events.jsonl")
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 2)
        select_run(table, BAD)
        await pilot.press("enter")
        await until(pilot, lambda: errors(app))
        assert "RecursionError" in errors(app)[0] and BAD in errors(app)[0]
        await still_up(pilot)
        select_run(table, GOOD)  # the other runs still open
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen))


async def test_comparing_with_a_damaged_run_is_a_notification(tmp_path):
    seed(tmp_path, "events.jsonl")
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 2)
        for run_id in (GOOD, BAD):
            select_run(table, run_id)
            await pilot.press("space")
        await pilot.press("c")
        await until(pilot, lambda: errors(app))
        await still_up(pilot)


async def test_resuming_a_damaged_run_is_a_notification(tmp_path):
    seed(tmp_path, "writer.json")
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 2)
        select_run(table, BAD)
        await pilot.press("u")
        await until(pilot, lambda: errors(app))
        await still_up(pilot)


async def test_a_damaged_run_is_listed_as_damaged_and_hides_no_other(tmp_path):
    seed(tmp_path, "notes.json")
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        table = await open_runs_screen(pilot, 2)
        statuses = {cell_text(table, r, 0): cell_text(table, r, 1) for r in range(2)}
        assert statuses == {GOOD: "finished", BAD: "damaged"}
        await still_up(pilot)


async def test_watching_a_damaged_run_is_a_notification(tmp_path):
    seed(tmp_path, "events.jsonl")
    app = CifarTuiApp(tmp_path, watch=BAD)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: errors(app))
        await still_up(pilot)


async def test_a_damaged_study_record_is_a_notification(tmp_path):
    record_runs(tmp_path, (GOOD,))
    folder = tmp_path / ".studies" / "broken"
    folder.mkdir(parents=True)
    (folder / "study.json").write_text(DEEP)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, StudiesScreen) and errors(app))
        await still_up(pilot)


async def test_a_study_record_that_is_not_json_is_named_once_and_the_others_listed(tmp_path, monkeypatch):
    """It was left out of the Studies screen without a word (`studies list` too)."""
    monkeypatch.setattr("cifar_tui.app.screens.studies.RELOAD_S", 0.1)  # several reloads within the test
    record_runs(tmp_path, (GOOD,))
    folder = tmp_path / ".studies" / "broken"
    folder.mkdir(parents=True)
    (folder / "study.json").write_text("garbage")
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, StudiesScreen) and errors(app))
        await pilot.pause(0.5)
        assert len(errors(app)) == 1 and "broken" in errors(app)[0] and "damaged" in errors(app)[0], errors(app)
        await still_up(pilot)
