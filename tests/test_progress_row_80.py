"""At 80x24 a strategy's progress row keeps its figures whole: the running row's img/s and ETA and a finished
row's best epoch were cut (`497 i…`, `best val 96.5% @…`) in the ~26 cells the status and bar left them."""

from __future__ import annotations

import asyncio

from app_harness import ManualEngine
from events_factory import run_started, strategy_events
from test_app import until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.widgets.progress_panel import StrategyRow
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run import events as ev


def row_text(app, name: str) -> tuple[str, int]:
    row = next(r for r in app.screen.query(StrategyRow) if r.strategy == name)
    return str(row.stats.render()), row.stats.content_region.width


async def test_the_figures_of_a_running_and_a_finished_row_fit_at_80x24(tmp_path):
    engine = ManualEngine()
    app = CifarTuiApp(tmp_path, start=ExperimentConfig(dataset="digits", weights="none"), engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, engine.started.is_set)
        finetune = [e for e in strategy_events("finetune", accs=(0.9, 0.965, 0.95), test_acc=0.964)]
        engine.send([run_started(strategies=("finetune", "scratch")), *finetune,
                     ev.StrategyStarted(strategy="scratch", image_size=32, epochs=10, steps_per_epoch=400,
                                        total_params=290_000, weights="random init"),
                     ev.BatchEnd(strategy="scratch", phase="train", epoch=10, step=117, steps=400, loss=1.2345,
                                 accuracy=0.5678, images_per_s=12_497.0)])
        await until(pilot, lambda: "ETA" in row_text(app, "scratch")[0])
        await pilot.pause(0.6)  # the progress rows redraw on a timer
        running, width = row_text(app, "scratch")
        assert "12497 img/s ETA" in running and len(running) <= width, (running, width)
        finished, width = row_text(app, "finetune")
        assert finished.endswith("@ epoch 2") and len(finished) <= width, (finished, width)
        engine.stop_event.set()
        await asyncio.sleep(0)
