"""The run report's own figures: accuracy per epoch, test accuracy per strategy, a confusion matrix per
strategy. Each `*_figure` returns the matplotlib figure (None when there is nothing to draw), so that tests
can measure its layout (engine/report/figures.py `layout_problems`); `export_run` saves them."""

from __future__ import annotations

from cifar_tui.engine.analysis.binomial import accuracy_se, accuracy_text
from cifar_tui.engine.report.figures import (
    STRATEGY_COLORS,
    STRATEGY_MARKERS,
    accuracy_axis,
    category_labels,
    drawn_over,
    epoch_axis,
    figure,
    title,
)
from cifar_tui.engine.run.state import RunState

MAX_NUMBERED_CLASSES = 20  # beyond, a confusion matrix's counts no longer fit their cells


def _series(state: RunState, key: str) -> dict[str, list[tuple[float, float]]]:
    return {name: [(h["epoch"], h[key]) for h in s.history if h.get(key) is not None]
            for name, s in state.strategies.items() if s.history}


def _over_label(points: list[tuple[float, float]], other: str) -> str:
    first, last = int(points[0][0]), int(points[-1][0])
    epochs = f"epoch {first}" if first == last else f"epochs {first}-{last}"
    return f" (= {other}'s {epochs}: drawn over it)"


def curves_figure(state: RunState):
    """Validation (solid, filled markers) and training accuracy (dashed, hollow) per epoch; None before the
    first finished epoch. A series lying on another's points is drawn over it in dashes, with a larger hollow
    marker, and the legend says so."""
    val, train = _series(state, "val_accuracy"), _series(state, "accuracy")
    if not any(val.values()) and not any(train.values()):
        return None
    fig, ax = figure(8, 5.2)
    handles: dict[str, list] = {"val": [], "train": []}
    for kind, series, style in (("val", val, "-"), ("train", train, "--")):
        over = drawn_over(series)
        for name, points in series.items():
            if not points:
                continue
            under = over.get(name, "")
            color, marker = STRATEGY_COLORS.get(name), STRATEGY_MARKERS.get(name, "o")
            label = f"{name} {'validation' if kind == 'val' else 'train'}"
            options = dict(color=color, marker=marker, markersize=5, linestyle=style, linewidth=1.6,
                           markerfacecolor=color if kind == "val" else "white", alpha=1 if kind == "val" else 0.75)
            if under:
                label += _over_label(points, under)
                options.update(linestyle=(0, (2, 3)), markersize=9, markerfacecolor="none", zorder=4)
            line, = ax.plot([p[0] for p in points], [p[1] for p in points], label=label, **options)
            handles[kind].append(line)
    for name, s in state.strategies.items():
        for phase, first in s.phase_starts:
            if phase == "finetune" and first > 1:
                handles["train"].append(ax.axvline(first - 0.5, color=STRATEGY_COLORS.get(name), linestyle=":",
                                                   label=f"{name}: backbone unfrozen"))
    last = max((p[0] for points in [*val.values(), *train.values()] for p in points), default=1)
    epoch_axis(ax, int(last))
    accuracy_axis(ax)
    title(fig, "Accuracy per epoch")
    ax.grid(alpha=0.3)
    rows = max(len(handles["val"]), len(handles["train"]))  # validation in one column, training in the other
    entries = [column + [_blank()] * (rows - len(column)) for column in (handles["val"], handles["train"])]
    fig.legend(handles=entries[0] + entries[1], loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def _blank():
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="none", label=" ")


def accuracy_bars_figure(state: RunState):
    """One bar per tested strategy with its binomial standard error; the value above each error bar's cap.
    None when no strategy was tested."""
    names = [n for n, s in state.strategies.items() if s.test_accuracy is not None]
    if not names:
        return None
    fig, ax = figure(6.4, 4.4)
    values = [state.strategies[n].test_accuracy for n in names]
    n_test = state.dataset.get("test")
    errors = [accuracy_se(v, n_test or 0) or 0.0 for v in values]
    bars = ax.bar(names, values, yerr=errors, capsize=6, color=[STRATEGY_COLORS.get(n, "grey") for n in names])
    for bar, value, error in zip(bars, values, errors, strict=True):
        ax.annotate(accuracy_text(value, n_test), (bar.get_x() + bar.get_width() / 2, value + error),
                    xytext=(0, 4), textcoords="offset points", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, max(1.0, *(v + e for v, e in zip(values, errors, strict=True))) + 0.13)  # room for the values
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("test accuracy")
    title(fig, f"Test accuracy (best validation epoch) ± binomial SE, {n_test or '?'} test images", 11)
    return fig


def confusion_figure(state: RunState, name: str):
    import numpy as np

    s = state.strategies[name]
    matrix = np.array(s.confusion_matrix, dtype=float)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    classes = state.dataset.get("class_names") or [str(i) for i in range(len(matrix))]
    fig, ax = figure(6.8, 5.8)
    image = ax.imshow(shares, cmap="viridis", vmin=0, vmax=1)
    if len(matrix) <= MAX_NUMBERED_CLASSES:
        for i in range(len(matrix)):
            for j in range(len(matrix)):
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7 if len(matrix) <= 12 else 5,
                        color="black" if shares[i, j] > 0.6 else "white")
    size = 8 if len(classes) <= 12 else 6
    category_labels(ax, classes, size)
    ax.set_yticks(range(len(classes)), classes, fontsize=size)
    ax.set(xlabel="predicted", ylabel="true")
    title(fig, f"{name}: test accuracy {100 * (s.test_accuracy or 0):.1f}%")
    fig.colorbar(image, ax=ax, label="share of the true class")
    return fig
