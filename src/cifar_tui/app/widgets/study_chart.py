"""A study's results chart in the terminal: test accuracy vs the study's x axis, one line per strategy,
error bars of one standard deviation over seeds (plotext, through textual-plotext)."""

from __future__ import annotations

from cifar_tui.app.widgets.plot_room import RoomyPlot
from cifar_tui.app.widgets.study_references import draw_references
from cifar_tui.engine.study.series import chart_series, n_label, series_styles
from cifar_tui.render.theme import EXTRA_PLOT_COLORS, SERIES_MARKERS, STRATEGY_PLOT_COLORS


class StudyChart(RoomyPlot):
    references: list = []  # published results (engine/study/references.py), set by the Studies screen

    def draw(self, record, conditions) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if record is None:
            plt.title("no study selected")
            self.refresh()
            return
        axis_values = record.axes.get(record.x, ["all"])
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis_values)
        plt.title(f"{record.title}: test accuracy, mean ± std over seeds")
        plt.xlabel(record.x)
        positions = list(range(1, len(axis_values) + 1))  # even spacing: fractions and rates span decades
        any_points = False
        series = chart_series(record, conditions)
        styles = series_styles(list(series), STRATEGY_PLOT_COLORS, EXTRA_PLOT_COLORS, SERIES_MARKERS)
        for label, points in series.items():
            xs = [positions[axis_values.index(p[0])] for p in points]
            color, marker = styles[label]
            ys = [p[1] for p in points]
            plt.plot(xs, ys, color=color, label=f"{marker} {label} ({n_label(points)})", marker="braille")
            plt.error(xs, ys, yerr=[p[2] for p in points], color=color)
            plt.scatter(xs, ys, color=color, marker=marker)  # the series' own marker, over the error bar
            any_points = True
        draw_references(plt, self.references, len(positions))
        plt.xlim(0.5, len(positions) + 0.5)  # room for the error bars at both ends
        plt.xticks(positions, [str(v) if not numeric else f"{v:g}" for v in axis_values])
        if any_points:
            plt.ylim(0, 1)
        else:
            plt.title(f"{record.title}: no finished cells yet")
        self.refresh()
