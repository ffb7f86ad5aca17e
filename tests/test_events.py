"""Events round-trip through JSON lines; bad lines are rejected with a reason."""

from __future__ import annotations

import json
import math

import pytest
from events_factory import full_run

from cifar_tui.engine.run import events as ev


def test_every_event_round_trips():
    for e in full_run():
        back = ev.event_from_json(e.to_json())
        assert back == e and "\n" not in e.to_json()


def test_non_finite_numbers_become_null():
    e = ev.BatchEnd(strategy="s", phase="train", epoch=1, step=1, steps=2, loss=math.nan, accuracy=math.inf,
                    images_per_s=1.0, time=0.0)
    data = json.loads(e.to_json())
    assert data["loss"] is None and data["accuracy"] is None


@pytest.mark.parametrize("line", ["", "[]", '{"type":"nope"}', '{"type":"epoch_end"}', "{bad"])
def test_bad_lines_raise_event_format_error(line):
    with pytest.raises(ev.EventFormatError):
        ev.event_from_json(line)


def test_tee_forwards_to_every_sink():
    a, b = [], []
    sink = ev.tee(a.append, None, b.append)
    sink(ev.LogMessage(level="info", message="hi"))
    assert len(a) == len(b) == 1
