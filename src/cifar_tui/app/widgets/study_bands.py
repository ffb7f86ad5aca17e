"""The Studies screen's time line and validation bands: cells done / total with an ETA (always shown), and
the validation curves of one condition as bands over seeds (mean line, min-max band shaded with ░, each
seed faint), n in the legend. `b` (a screen binding) shows the bands in place of the results chart and
steps through the conditions, then back to the results chart.

Bands, progress and the published reference lines are read in a thread worker (they read the cells'
runs); the published lines are handed to the results chart (app/widgets/study_chart.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual import work
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from cifar_tui.app.widgets.plot_room import RoomyPlot
from cifar_tui.engine.study.bands import Band, band_conditions, validation_bands
from cifar_tui.engine.study.progress import StudyProgress, study_progress
from cifar_tui.engine.study.references import Reference, references_for
from cifar_tui.render.theme import STRATEGY_PLOT_COLORS


class StudyBandsLoaded(Message):
    def __init__(self, name: str, bands: list[Band], progress: StudyProgress, references: list[Reference]) -> None:
        super().__init__()
        self.name, self.bands, self.progress, self.references = name, bands, progress, references


class BandsPlot(RoomyPlot):
    _drawn: tuple[list[Band], str] | None = None

    def on_resize(self) -> None:
        # the shading's density follows the widget's size: a draw before the first layout (size 0) left
        # gaps in the band, so draw again at the size the user sees
        if self._drawn is not None:
            self.draw(*self._drawn)

    def draw(self, bands: list[Band], title: str) -> None:
        self._drawn = (bands, title)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.xlabel("epoch")
        for band in bands:
            color = STRATEGY_PLOT_COLORS.get(band.strategy, "white")
            if len(band.epochs) > 1 and band.seeds > 1:  # the min-max band, shaded: a ░ per character cell
                xs = np.linspace(band.epochs[0], band.epochs[-1], max(20, self.size.width))
                low, high = np.interp(xs, band.epochs, band.low), np.interp(xs, band.epochs, band.high)
                step = 1 / (2 * max(8, self.size.height))  # half a row of the 0-1 y axis
                fill = [(x, y) for x, lo, hi in zip(xs, low, high, strict=True)
                        for y in np.arange(lo, hi + step / 2, step)]
                plt.scatter([p[0] for p in fill], [p[1] for p in fill], color=color, marker="░")
            for curve in band.per_seed.values():  # each seed, faint
                points = [(e, v) for e, v in zip(band.epochs, curve, strict=True) if v is not None]
                plt.plot([p[0] for p in points], [p[1] for p in points], color="gray", marker="dot")
            plt.plot(band.epochs, band.mean, color=color, marker="braille",
                     label=f"{band.strategy} mean (n={max(band.n, default=0)})")
        epochs = [e for band in bands for e in band.epochs]
        if epochs and min(epochs) < max(epochs):
            plt.xlim(min(epochs), max(epochs))
        plt.ylim(0, 1)
        self.refresh()


class StudyBands(Vertical):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bands: list[Band] = []
        self.progress: StudyProgress | None = None
        self.references: list[Reference] = []
        self.condition_index = 0
        self._name = ""

    def compose(self):
        yield Static("", id="study-progress")
        yield BandsPlot(id="study-bands-plot")

    def show(self, record, results, runs_dir: Path) -> None:
        self.load(record.name, record.x, results, Path(runs_dir))

    @work(thread=True, exclusive=True, group="study-bands", exit_on_error=False)
    def load(self, name: str, x: str, results, runs_dir: Path) -> None:
        self.post_message(StudyBandsLoaded(name, validation_bands(results, runs_dir),
                                           study_progress(results, runs_dir), references_for(x, results, runs_dir)))

    def on_study_bands_loaded(self, message: StudyBandsLoaded) -> None:
        if message.name != self._name:
            self.condition_index = 0
        self._name, self.bands, self.progress = message.name, message.bands, message.progress
        self.references = message.references
        self.query_one("#study-progress", Static).update(message.progress.text())
        self._draw()

    @property
    def showing(self) -> bool:
        return self.has_class("-showing")

    def cycle(self) -> bool:
        """Results chart -> bands of condition 1 -> ... -> last condition -> results chart. Returns whether
        the bands are shown now."""
        conditions = band_conditions(self.bands)
        if not self.showing:
            self.condition_index = 0
            self.add_class("-showing")
        elif self.condition_index + 1 < len(conditions):
            self.condition_index += 1
        else:
            self.remove_class("-showing")
        self._draw()
        return self.showing

    def _draw(self) -> None:
        plot = self.query_one(BandsPlot)
        conditions = band_conditions(self.bands)
        if not conditions:
            plot.draw([], "validation bands: no finished cells yet")
            return
        condition = conditions[self.condition_index % len(conditions)]
        label = " ".join(f"{k}={v}" for k, v in condition.items()) or "all cells"
        index = self.condition_index % len(conditions)
        plot.draw([b for b in self.bands if b.condition == condition],
                  f"val. accuracy over seeds: {label} (b {index + 1}/{len(conditions)})")
