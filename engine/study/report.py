"""A study's results as JSON and as a report: the results chart with error bars, CSVs, report.md.

The chart shows test accuracy against the study's x axis (training-set fraction, input size, learning
rate, variant), one line per strategy (and per other non-seed axis), mean over seeds with error bars of
one standard deviation, n in the legend. The answer to the study's question is in the comparisons: each
condition against the spec's reference condition, per strategy, paired by seed with a t-test and its 95%
interval (see `engine.study.stats`); the same lines serve `studies show`, the app and report.md.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from engine.export import STRATEGY_COLORS, _pyplot
from engine.study.record import StudyRecord
from engine.study.stats import CellResult, Comparison, Condition, compare_with_reference

METHOD = ("paired by seed; two-sided paired t-test (Student's t, df = n - 1, scipy.stats.ttest_rel); "
          "95% CI = t-based interval of the mean per-seed difference; 'significant at 95%' means p < 0.05 "
          "(the interval excludes 0); n < 2 seeds: no spread, no test; seeds where a side diverged "
          "(NaN loss) are left out of the pairing and counted")


def comparisons(record: StudyRecord, conditions: list[Condition]) -> list[Comparison]:
    return compare_with_reference(conditions, record.x, record.reference)


def reference_heading(record: StudyRecord) -> str:
    if record.reference is None:
        return (f"No reference condition: add reference = \"...\" (one of {record.x}'s values) to the spec "
                f"and run the study again (finished cells are skipped) to compare conditions")
    return f"Each {record.x} against the reference {record.x}={record.reference}, per strategy"


def statistics_lines(record: StudyRecord, conditions: list[Condition]) -> list[tuple[str, str]]:
    """(kind, text) lines: "head" headings, "yes"/"no" differences by verdict, "note"; shared by the CLI,
    the app and report.md so they cannot disagree."""
    lines: list[tuple[str, str]] = [("head", reference_heading(record))]
    for c in comparisons(record, conditions):
        lines.append(("yes" if c.difference is not None and c.difference.significant else "no", c.text()))
    between = [(c, d) for c in conditions for d in c.differences]
    if between:
        lines.append(("head", "Strategies within each condition"))
        lines += [("yes" if d.significant else "no", f"{c.label}: {d.text()}") for c, d in between]
    lines.append(("note", f"Method: {METHOD}."))
    return lines


def _finite(values: dict) -> dict:
    """JSON has no NaN: a diverged seed is null."""
    return {str(k): (v if math.isfinite(v) else None) for k, v in values.items()}


def study_json(record: StudyRecord, results: list[CellResult], conditions: list[Condition],
               runs_dir: Path | None = None) -> dict[str, Any]:
    """With `runs_dir`, a domains study adds its evidence per data set ("domains": engine/study/domains.py)."""
    from engine.study.domains import domain_evidence

    evidence = domain_evidence(record, results, conditions, runs_dir) if runs_dir is not None else None
    return {**({"domains": evidence.to_dict()} if evidence is not None else {}),
        "name": record.name, "title": record.title, "x": record.x, "axes": record.axes,
        "reference": record.reference, "method": METHOD,
        "cells": [{"index": r.index, "key": r.key, "run_id": r.run_id, "status": r.status,
                   "test_accuracy": r.test_accuracy, "diverged": r.diverged, "notices": r.notices,
                   "reason": r.reason} for r in results],
        "conditions": [{
            "key": c.key,
            "strategies": {n: {"mean": s.mean, "std": s.std, "n": s.n, "diverged": s.diverged,
                               "values": _finite(c.values[n])}
                           for n, s in c.per_strategy.items()},
            "differences": [d.to_dict() for d in c.differences],
        } for c in conditions],
        "comparisons": [c.to_dict() for c in comparisons(record, conditions)],
    }


def chart_series(record: StudyRecord, conditions: list[Condition]) -> dict[str, list[tuple[Any, float, float, int]]]:
    """label -> [(x value, mean, std or 0, n)] in axis order; a label is a strategy (plus other axes)."""
    series: dict[str, list[tuple[Any, float, float, int]]] = {}
    for c in conditions:
        others = " ".join(f"{k}={v}" for k, v in c.key.items() if k != record.x)
        x = c.key.get(record.x, "all")
        for name, s in c.per_strategy.items():
            if s.mean is None:
                continue
            label = f"{name} {others}".strip()
            series.setdefault(label, []).append((x, s.mean, s.std or 0.0, s.n))
    return series


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")  # matplotlib markers, one per series
EXTRA_COLORS = ("#2ca02c", "#9467bd", "#8c564b", "#bcbd22", "#17becf", "#7f7f7f", "#d62728", "#e377c2")


def series_styles(labels: list[str], strategy_colors: dict[str, str], extra_colors: tuple[str, ...],
                  markers: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """label -> (colour, marker), each series its own: a strategy's first series keeps the strategy's
    colour, a second one ("finetune unfreeze=top3" after "finetune unfreeze=all") takes the next spare
    colour; markers go by series order, so series stay apart without colour (NO_COLOR, print)."""
    spare = [c for c in extra_colors if c not in strategy_colors.values()]
    used: set[str] = set()
    styles = {}
    for i, label in enumerate(labels):
        color = strategy_colors.get(label.split()[0]) if label else None
        if color is None or color in used:
            color = next((c for c in spare if c not in used), spare[i % len(spare)] if spare else "white")
        used.add(color)
        styles[label] = (color, markers[i % len(markers)])
    return styles


def n_label(points: list[tuple[Any, float, float, int]]) -> str:
    """Seeds behind a series' points: "n=3", or "n=1-3" when conditions have different counts so far."""
    low, high = min(p[3] for p in points), max(p[3] for p in points)
    return f"n={low}" if low == high else f"n={low}-{high}"


def plot_study(record: StudyRecord, conditions: list[Condition], path: Path, references: list = ()) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    axis_values = record.axes.get(record.x, ["all"])
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis_values)
    log = numeric and min(axis_values) > 0 and max(axis_values) / min(axis_values) >= 50
    series = chart_series(record, conditions)
    styles = series_styles(list(series), STRATEGY_COLORS, EXTRA_COLORS, MARKERS)
    for label, points in series.items():
        xs = [p[0] if numeric else axis_values.index(p[0]) for p in points]
        color, marker = styles[label]
        ax.errorbar(xs, [p[1] for p in points], yerr=[p[2] for p in points], marker=marker, capsize=4,
                    label=f"{label} ({n_label(points)})", color=color)
    from engine.study.bands_plot import draw_reference_lines

    draw_reference_lines(ax, list(references))  # published results: CIFAR-10 with ImageNet weights only
    if log:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(range(len(axis_values)), [str(v) for v in axis_values])
    ax.set(xlabel=record.x, ylabel="test accuracy", ylim=(0, 1),
           title=f"{record.title}\n(mean ± 1 std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_differences_csv(record: StudyRecord, conditions: list[Condition], path: Path) -> None:
    """Every paired difference: against the reference (per strategy), then between strategies (per condition)."""
    rows = [("vs reference", c.strategy, c.difference) for c in comparisons(record, conditions)
            if c.difference is not None]
    rows += [("strategies", c.label, d) for c in conditions for d in c.differences]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["kind", "within", "a", "b", "mean", "ci95_low", "ci95_high", "n", "df", "t", "p",
                         "verdict", "diverged_seeds_left_out"])
        for kind, within, d in rows:
            writer.writerow([kind, within, d.a, d.b, d.mean, *(d.ci or ("", "")), d.n,
                             *("" if v is None else v for v in (d.df, d.t, d.p)), d.verdict, d.excluded])


def export_study(record: StudyRecord, results: list[CellResult], conditions: list[Condition], out: Path,
                 runs_dir: Path | None = None) -> Path:
    """With `runs_dir` (where the cells' runs are) the report adds the validation bands over seeds and the
    published reference lines (engine/study/bands.py, references.py)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from engine.study.bands import validation_bands
    from engine.study.bands_plot import plot_bands
    from engine.study.references import references_for

    references = references_for(record.x, results, runs_dir) if runs_dir is not None else []
    plot_study(record, conditions, out / "results.png", references)
    bands = runs_dir is not None and plot_bands(record.title, validation_bands(results, runs_dir),
                                                out / "validation_bands.png")
    strategies = sorted({n for r in results for n in [*r.test_accuracy, *r.diverged]})
    with open(out / "cells.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["cell", *record.axes, "run_id", "status", *[f"{n}_test_accuracy" for n in strategies]])
        for r in results:
            writer.writerow([r.index + 1, *[r.key.get(a) for a in record.axes], r.run_id, r.status,
                             *[r.test_accuracy.get(n, "diverged" if n in r.diverged else "") for n in strategies]])
    non_seed = [a for a in record.axes if a != "seed"]
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*non_seed, "strategy", "mean", "std", "n", "diverged"])
        for c in conditions:
            for n, s in c.per_strategy.items():
                writer.writerow([*[c.key.get(a) for a in non_seed], n, s.mean, "" if s.std is None else s.std, s.n,
                                 s.diverged])
    write_differences_csv(record, conditions, out / "differences.csv")
    lines = [f"# Study {record.name}: {record.title}", "",
             f"{sum(r.status == 'finished' for r in results)} of {len(results)} cells finished. "
             f"Axes: " + ", ".join(f"{k} = {v}" for k, v in record.axes.items()) + ".", "",
             "![results](results.png)", ""]
    if bands:
        lines += ["![validation curves over seeds](validation_bands.png)", ""]
    lines += ["## Test accuracy, mean ± std over seeds (n)", ""]
    header = ["condition", *strategies]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in conditions:
        label = c.label + (" (reference)" if record.reference is not None and c.key.get(record.x) == record.reference
                           else "")
        lines.append("| " + " | ".join([label, *[c.per_strategy[n].text() if n in c.per_strategy else "-"
                                                 for n in strategies]]) + " |")
    from engine.study.domains import evidence_lines

    for kind, text in statistics_lines(record, conditions) + evidence_lines(record, results, conditions, runs_dir):
        lines += ["", f"## {text}", ""] if kind == "head" else ["", text] if kind == "note" else [f"- {text}"]
    failed = [r for r in results if r.status in ("failed", "damaged")]
    if failed:  # the reason travels with the report, not only the app
        lines += ["", "## Failed cells", "", *[f"- cell {r.index + 1} {r.label}: {r.status}"
                                              f"{' - ' + r.reason if r.reason else ''}"
                                              f"{f' (run {r.run_id})' if r.run_id else ''}"  # refused: no run
                                              for r in failed]]
    notices = sorted({n for r in results for n in r.notices})
    if notices:
        lines += ["", "## Notices (substitutions, deliberate mistakes)", "", *[f"- {n}" for n in notices]]
    lines += ["", "Each run's own test accuracy also has a sampling error on its test set (binomial standard "
              "error, shown by `cifar-tui runs show RUN`); the seed-to-seed spread above includes it.",
              "", "Cells and their runs: cells.csv; per-condition statistics: summary.csv; every paired difference "
              "with its t, df, p and interval: differences.csv. Open any run with `cifar-tui runs show RUN`."]
    page = out / "report.md"
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return page
