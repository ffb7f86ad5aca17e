""""why and how to fix: log, key 4" opens the log at the explanation (issue #25 section 6): the notices' full
sentences are among a run's first log lines, and the panel opened at its end, a screenful of INFO below."""

from __future__ import annotations

from events_factory import full_run
from test_app import until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.live import RunViewScreen
from cifar_tui.app.widgets.log_panel import LogPanel
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState

NOTICE = "DIGITS USED INSTEAD OF CIFAR-10: CIFAR-10 is not in ~/.keras/datasets; fix: pass --data-dir"


def run_with_a_notice_and_a_long_log() -> RunState:
    stream = full_run()
    stream[0].notices = [NOTICE]
    lines = [ev.LogMessage(level="warning", message=NOTICE),
             *[ev.LogMessage(level="info", message=f"frozen: features of batch {i} from cache") for i in range(60)]]
    return RunState.from_events([stream[0], *lines, *stream[1:]])


async def test_key_4_opens_the_log_at_the_notices_explanation(tmp_path):
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunViewScreen(run_with_a_notice_and_a_long_log(), title="notice"))
        await until(pilot, lambda: isinstance(app.screen, RunViewScreen) and app.screen.query(LogPanel))
        await pilot.press("4")
        log = app.screen.query_one(LogPanel)
        await until(pilot, lambda: log.max_scroll_y > 0)
        await pilot.pause(0.3)
        top = log.lines[int(log.scroll_y)].text
        assert top.startswith("WARNING: DIGITS USED INSTEAD OF CIFAR-10"), top
