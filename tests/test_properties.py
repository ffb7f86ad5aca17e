"""Property-based tests: the event-log reader never breaks on damage, names never escape the runs folder."""

from __future__ import annotations

from pathlib import Path

from events_factory import full_run
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.store.ids import validate_name, validate_run_id
from engine.store.reader import read_events

EVENTS = full_run()
LINES = [e.to_json() for e in EVENTS]


@settings(max_examples=60, deadline=None)
@given(keep=st.lists(st.integers(0, len(LINES) - 1), min_size=1, max_size=30),
       garbage=st.lists(st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b), max_size=5),
       torn=st.integers(1, 30))
def test_reader_returns_exactly_the_intact_events_in_order(tmp_path_factory, keep, garbage, torn):
    path = tmp_path_factory.mktemp("ev") / "events.jsonl"
    lines = [LINES[i].encode() for i in keep]
    mixed = []
    for i, line in enumerate(lines):
        mixed.append(line)
        if i < len(garbage) and not garbage[i].strip().startswith(b"{"):
            mixed.append(garbage[i])
    tail = LINES[0].encode()[:torn]  # a last line cut short by a crash
    path.write_bytes(b"\n".join(mixed) + b"\n" + tail)
    events, skipped = read_events(path)
    assert [e.to_json() for e in events] == [LINES[i] for i in keep]
    assert len(skipped) == sum(1 for i in range(min(len(garbage), len(lines)))
                               if not garbage[i].strip().startswith(b"{") and garbage[i].strip()) + 1


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_a_name_is_refused_or_stays_inside_the_runs_folder(tmp_path_factory, name):
    runs = tmp_path_factory.mktemp("runs")
    for check in (validate_name, validate_run_id):
        try:
            checked = check(name)
        except ConfigError:
            continue
        if checked:
            target = (runs / checked).resolve()
            assert target.parent == runs.resolve() and target.name == checked
            assert "/" not in checked and "\\" not in checked and ".." not in checked


@given(st.sampled_from(["..", "../x", "a/../b", "/abs", "a/b", "a\\b", ".hidden", "", " "]))
def test_known_bad_ids_are_refused(run_id):
    try:
        validate_run_id(run_id)
    except ConfigError:
        return
    raise AssertionError(f"{run_id!r} accepted")


def test_path_type_is_posix():
    assert Path("a").name == "a"
