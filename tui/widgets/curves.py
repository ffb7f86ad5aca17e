"""Accuracy and loss curves per epoch (train and validation, one colour per strategy), with plotext."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from engine.state import RunState
from tui.theme import STRATEGY_PLOT_COLORS


class CurvesPlot(PlotextPlot):
    """Per-epoch points only (a few hundred at most), so a redraw stays cheap."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metric = "accuracy"  # or "loss"

    def toggle_metric(self) -> str:
        self.metric = "loss" if self.metric == "accuracy" else "accuracy"
        return self.metric

    def draw(self, state: RunState) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        key = self.metric
        title = "accuracy" if key == "accuracy" else "loss"
        plt.title(f"{title}: validation (lines), train (•)   t: accuracy/loss")
        plt.xlabel("epoch")
        any_points = False
        for name, s in state.strategies.items():
            if not s.history:
                continue
            any_points = True
            color = STRATEGY_PLOT_COLORS.get(name, "white")
            epochs = [h["epoch"] for h in s.history]
            val = [h.get(f"val_{key}") for h in s.history]
            train = [h.get(key) for h in s.history]
            points = [(e, v) for e, v in zip(epochs, val, strict=True) if v is not None]
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], color=color, label=name, marker="braille")
            points = [(e, v) for e, v in zip(epochs, train, strict=True) if v is not None]
            if points:
                plt.scatter([p[0] for p in points], [p[1] for p in points], color=color, marker="•")
            for phase, first in s.phase_starts:
                if phase == "finetune" and first > 1:
                    plt.vline(first - 0.5, color=color)  # where fine-tuning begins
        if any_points:
            last = max(h["epoch"] for s in state.strategies.values() for h in s.history)
            plt.xticks(list(range(1, last + 1, max(1, last // 10))))
            if key == "accuracy":
                plt.ylim(0, 1)
        self.refresh()
