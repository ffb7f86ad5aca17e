"""Figures of a strategy's row that read wrong: finetune's img/s was the plain mean of its epochs' rates, so
its fast head epochs on cached features stood for its slow unfrozen ones (2,841 img/s shown where the
unfrozen epochs ran at ~40-250); a strategy cancelled before its first epoch showed "-" for its test, where
the README promises "untested"."""

from __future__ import annotations

from cifar_tui.engine.run.state import StrategyState
from cifar_tui.render.tables import comparison_cells


def epoch(number: int, rate: float, seconds: float) -> dict:
    return {"epoch": number, "images_per_s": rate, "seconds": seconds, "val_accuracy": 0.5}


def test_images_per_second_is_images_over_seconds_across_the_phases():
    finetune = StrategyState("finetune", status="finished", history=[epoch(1, 5000.0, 2.0), epoch(2, 40.0, 30.0)])
    assert abs(finetune.train_images_per_s() - (5000 * 2 + 40 * 30) / 32) < 1e-9  # 350, not the mean 2,520


def test_a_strategy_cancelled_before_its_first_epoch_is_untested():
    cells = comparison_cells(StrategyState("frozen", status="cancelled", epochs=2).summary())
    assert cells[0] == "cancelled" and cells[2] == "untested" and cells[3] == "0/2", cells
