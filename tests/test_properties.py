"""Property-based tests: the event-log reader never breaks on damage, names never escape the runs folder."""

from __future__ import annotations

from pathlib import Path

from events_factory import full_run
from hypothesis import given, settings
from hypothesis import strategies as st

from cifar_tui.engine.errors import ConfigError
from cifar_tui.engine.store.ids import validate_name, validate_run_id
from cifar_tui.engine.store.reader import read_events

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


seed_values = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=8)


@settings(max_examples=100, deadline=None)
@given(a=seed_values, b=seed_values, offset=st.lists(st.floats(-0.3, 0.3), min_size=8, max_size=8))
def test_paired_differences_verdict_interval_and_pairing_agree(a, b, offset):
    from cifar_tui.engine.study.stats import SIGNIFICANT, paired_difference

    va, vb = dict(enumerate(a)), dict(enumerate(b))
    d = paired_difference("a", "b", va, vb)
    assert d.n == min(len(a), len(b)) and d.per_seed.keys() == set(range(d.n))
    if d.ci is not None:  # "significant at 95%" exactly when the t interval excludes 0 (up to rounding at the edge)
        low, high = d.ci
        assert low <= d.mean <= high and d.df == d.n - 1
        if min(abs(low), abs(high)) > 1e-9:
            assert (d.verdict == SIGNIFICANT) == (low > 0 or high < 0)
        swapped = paired_difference("b", "a", vb, va)  # sides swapped: negated, same p
        assert swapped.mean == -d.mean and swapped.p == d.p
    # a seed effect shared by both sides cancels in a paired difference
    shifted = paired_difference("a", "b", {s: v + offset[s] for s, v in va.items()},
                                {s: v + offset[s] for s, v in vb.items()})
    assert shifted.per_seed == {s: (va[s] + offset[s]) - (vb[s] + offset[s]) for s in d.per_seed}


def test_null_differences_are_called_significant_about_5_percent_of_the_time_at_3_seeds():
    # 1,000 simulated 3-seed studies with no true difference: a 95% test must flag ~5% of them. The old rule
    # |mean| > 2 SE flagged ~18% at 2 degrees of freedom.
    import numpy as np

    from cifar_tui.engine.study.stats import paired_difference

    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.01, size=(1000, 3))
    flagged = sum(paired_difference("a", "b", dict(enumerate(0.5 + row)), dict.fromkeys(range(3), 0.5)).significant
                  for row in noise)
    assert 0.03 < flagged / len(noise) < 0.07  # 5% +- 2.9 binomial SEs at 1,000
