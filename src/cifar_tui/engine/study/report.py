"""A study's results as JSON and as a report: the results chart with error bars, CSVs, report.md.

The chart shows test accuracy against the study's x axis (training-set fraction, input size, learning
rate, variant), one line per strategy (and per other non-seed axis), mean over seeds with error bars of
one standard deviation, n in the legend. The page starts with the study's verdict (engine/verdict/study.py),
then the comparisons behind it: each condition against the spec's reference condition, per strategy, and
the strategies within each condition, paired by seed and test image, with 95% intervals and Holm-adjusted p
(see `cifar_tui.engine.study.differences`); the same lines serve `studies show`, the app and report.md.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from cifar_tui.engine.analysis.paired_tests import BOUNDED, CROSSED, MCNEMAR, REFERENCES
from cifar_tui.engine.study.record import StudyRecord
from cifar_tui.engine.study.results_plot import plot_study
from cifar_tui.engine.study.series import EXTRA_COLORS, MARKERS, chart_series, n_label, series_styles  # noqa: F401 (their home before)
from cifar_tui.engine.study.stats import SEEDS_ONLY, CellResult, Comparison, Condition, study_comparisons
from cifar_tui.engine.study.trained_on import asked_text, trained_on_lines

METHOD = ("paired by seed and, where per-image predictions exist, by test image: every seed is tested on the "
          "same test images, so each test adds the test sample's sampling error to the seeds' training noise. "
          f"'{CROSSED}': {REFERENCES[CROSSED]}; '{MCNEMAR}': {REFERENCES[MCNEMAR]}; '{BOUNDED}': "
          f"{REFERENCES[BOUNDED]}; '{SEEDS_ONLY}'. Two-sided, 95% intervals; all the study's comparisons "
          "are one family, corrected with Holm's procedure (Holm 1979; statsmodels multipletests): "
          "'significant at 95%' means Holm-adjusted p < 0.05 (raw and Holm p both shown); one seed is never "
          "called significant (training noise not measured); seeds where a side diverged (NaN loss) are left "
          "out of the pairing and counted")


def comparisons(record: StudyRecord, conditions: list[Condition]) -> list[Comparison]:
    """Every condition against the reference, per strategy; the p of these and of the differences between
    strategies (in `conditions`) adjusted together, as one family (Holm)."""
    return study_comparisons(conditions, record.x, record.reference)


def reference_heading(record: StudyRecord) -> str:
    if record.reference is None:
        return (f"No reference condition: add reference = \"...\" (one of {record.x}'s values) to the spec "
                f"and run the study again (finished cells are skipped) to compare conditions")
    return f"Each {record.x} against the reference {record.x}={record.reference}, per strategy"


def statistics_lines(record: StudyRecord, conditions: list[Condition]) -> list[tuple[str, str]]:
    """(kind, text) lines: "head" headings, "yes"/"no" differences by verdict, "note"; shared by the CLI,
    the app and report.md so they cannot disagree."""
    lines: list[tuple[str, str]] = [("head", reference_heading(record))]
    compared = comparisons(record, conditions)  # first: it adjusts the differences between strategies too
    for c in compared:
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
    from cifar_tui.engine.study.domains import domain_evidence

    evidence = domain_evidence(record, results, conditions, runs_dir) if runs_dir is not None else None
    compared = comparisons(record, conditions)  # first: it adjusts every p of the family (Holm)
    return {**({"domains": evidence.to_dict()} if evidence is not None else {}),
        "name": record.name, "title": record.title, "x": record.x, "axes": record.axes,
        "reference": record.reference, "method": METHOD,
        "cells": [{"index": r.index, "key": r.key, "run_id": r.run_id, "status": r.status,
                   "test_accuracy": r.test_accuracy, "diverged": r.diverged, "notices": r.notices,
                   "reason": r.reason, "trained": r.trained, "asked": r.asked,
                   "per_image_predictions": sorted(r.sample.correct) if r.sample else []}
                  for r in results],
        "conditions": [{
            "key": c.key,
            "strategies": {n: {"mean": s.mean, "std": s.std, "n": s.n, "diverged": s.diverged,
                               "values": _finite(c.values[n])}
                           for n, s in c.per_strategy.items()},
            "differences": [d.to_dict() for d in c.differences],
        } for c in conditions],
        "comparisons": [c.to_dict() for c in compared],
    }


def write_differences_csv(record: StudyRecord, conditions: list[Condition], path: Path) -> None:
    """Every paired difference: against the reference (per strategy), then between strategies (per condition)."""
    rows = [("vs reference", c.strategy, c.difference) for c in comparisons(record, conditions)
            if c.difference is not None]  # first: comparisons() adjusts every p of the family
    rows += [("strategies", c.label, d) for c in conditions for d in c.differences]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["kind", "within", "a", "b", "mean", "ci95_low", "ci95_high", "n", "test_images", "se",
                         "se_seeds", "se_test", "df", "t", "p", "p_holm", "method", "verdict",
                         "diverged_seeds_left_out"])
        for kind, within, d in rows:
            test = d.test
            figures = (test.images, test.se, test.se_seeds, test.se_test) if test else (None, d.se, d.se, None)
            writer.writerow([kind, within, d.a, d.b, d.mean, *(d.ci or ("", "")), d.n,
                             *("" if v is None else v for v in (*figures, d.df, d.t, d.p, d.p_holm)), d.method,
                             d.verdict, d.excluded])


def export_study(record: StudyRecord, results: list[CellResult], conditions: list[Condition], out: Path,
                 runs_dir: Path | None = None) -> Path:
    """With `runs_dir` (where the cells' runs are) the report adds the validation bands over seeds and the
    published reference lines (engine/study/bands.py, references.py)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from cifar_tui.engine.study.bands import validation_bands
    from cifar_tui.engine.study.bands_plot import plot_bands
    from cifar_tui.engine.study.references import references_for

    references = references_for(record.x, results, runs_dir) if runs_dir is not None else []
    chart = plot_study(record, conditions, out / "results.png", references)
    bands = runs_dir is not None and plot_bands(record.title, validation_bands(results, runs_dir),
                                                out / "validation_bands.png")
    strategies = sorted({n for r in results for n in [*r.test_accuracy, *r.diverged]})
    with open(out / "cells.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["cell", *record.axes, "run_id", "status", "dataset", "weights", "asked",
                         *[f"{n}_test_accuracy" for n in strategies]])
        for r in results:  # dataset/weights: what the run trained on; asked: what it asked for, where different
            writer.writerow([r.index + 1, *[r.key.get(a) for a in record.axes], r.run_id, r.status,
                             r.trained.get("dataset") or "", r.trained.get("weights") or "", asked_text(r.asked),
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
    from cifar_tui.engine.verdict.study import study_verdict

    verdict = study_verdict(record, results, conditions, runs_dir)
    lines = [f"# Study {record.name}: {record.title}", "", *verdict.markdown(),
             f"{sum(r.status == 'finished' for r in results)} of {len(results)} cells finished. "
             f"Axes: " + ", ".join(f"{k} = {v}" for k, v in record.axes.items()) + ".",
             *[f"\n{line}." for line in trained_on_lines(results)], "",
             "![results](results.png)" if chart else "No results chart: no cell has finished yet.", ""]
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
    from cifar_tui.engine.study.domains import evidence_lines

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
    lines += ["", "The mean ± std above is over seeds, on one test set: the spread measures training noise only, "
              "not the test set's own sampling error (each run's binomial standard error, shown by `cifar-tui "
              "runs show RUN`); the differences above account for both.",
              "", "Cells and their runs: cells.csv; per-condition statistics: summary.csv; every paired difference "
              "with its t, df, p and interval: differences.csv. Open any run with `cifar-tui runs show RUN`."]
    page = out / "report.md"
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return page
