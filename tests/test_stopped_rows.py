"""A stopped run's rows say what happened (issue #25 section 6): `watch` on a run whose writer died showed its
strategy still training with an ETA; a run cancelled during scratch showed the strategies after it `pending`,
as if they were about to start."""

from __future__ import annotations

import json
import time

from events_factory import run_started, strategy_events
from test_app import until
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.live import RunViewScreen
from cifar_tui.app.widgets.progress_panel import StrategyRow
from cifar_tui.cli.main import app as cli
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import NOT_STARTED, RunState
from cifar_tui.engine.store.recorder import RunRecorder

RUN = "20270118-080000-stopped-0001"


def scratch_mid_epoch():
    """run_started, then scratch's first epoch and a few batches of its second."""
    scratch = strategy_events("scratch")
    second_epoch = next(i for i, e in enumerate(scratch) if isinstance(e, ev.EpochEnd)) + 3
    return [run_started(RUN), *scratch[:second_epoch]]


def rows(app) -> dict[str, tuple[str, str]]:
    return {row.strategy: (str(row.status.render()), str(row.stats.render()))
            for row in app.screen.query(StrategyRow)}


def test_a_run_cancelled_during_scratch_says_the_others_never_started(tmp_path):
    state = RunState.from_events([*scratch_mid_epoch(), ev.RunFinished(status="cancelled", seconds=3.0)])
    assert {n: s.status for n, s in state.strategies.items()} == {
        "scratch": "cancelled", "frozen": NOT_STARTED, "finetune": NOT_STARTED}
    recorder = RunRecorder(tmp_path, RUN)
    for event in [*scratch_mid_epoch(), ev.RunFinished(status="cancelled", seconds=3.0)]:
        recorder(event)
    recorder.close()
    shown = CliRunner().invoke(cli, ["runs", "show", RUN, "--runs-dir", str(tmp_path)]).output
    assert "pending" not in shown and shown.count("not started") == 2, shown


async def test_watching_a_run_whose_writer_died_shows_no_strategy_training(tmp_path):
    recorder = RunRecorder(tmp_path, RUN, heartbeat_s=3600)
    for event in scratch_mid_epoch():
        recorder(event)
    recorder._stop_heartbeat.set()  # the writer dies mid-epoch: its heartbeat goes stale and its lock is free
    recorder._run_lock.release()  # (on this host the lock is the truth about a writer: issue #26)
    recorder._run_lock = None
    writer = tmp_path / RUN / "writer.json"
    writer.write_text(json.dumps({**json.loads(writer.read_text()), "heartbeat": time.time() - 3600}))
    app = CifarTuiApp(tmp_path, watch=RUN)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen)
                    and app.screen.dashboard.state.status == "interrupted")
        await until(pilot, lambda: rows(app).get("scratch", ("",))[0] == "cancelled")
        shown = rows(app)
        assert "ETA" not in shown["scratch"][1] and "training" not in shown["scratch"][0], shown
        assert shown["frozen"][0] == shown["finetune"][0] == NOT_STARTED
