"""Rich tables for the CLI: the comparison of strategies, the list of runs, a run's epochs."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from cifar_tui.engine.analysis.binomial import accuracy_text
from cifar_tui.engine.report.durations import (
    duration,  # one rule for every view; the progress panel imports it from here
)
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.runtime.backend import DEFAULT_BACKEND
from cifar_tui.render.config_diff_table import (
    run_label,  # runs named as the Compare screen and the config diff name them
)


def rate(value: float | None) -> str:
    """A learning rate; "-" where there is none (the probe's C grid: NaN in the event, null on disk)."""
    return "-" if value is None or value != value else f"{value:.0e}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def short_count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e3 else str(n)


# "epochs": the budget per phase ("5+5": head, then unfrozen), or finished/budget ("2/10") for a strategy
# that stopped early; "params": trainable/all
COMPARISON_COLUMNS = ("strategy", "status", "best val@ep", "test±SE", "epochs", "params", "time", "img/s")


def test_images(summary: dict) -> int | None:
    """How many test images a run's accuracies were measured on (its data set's test split)."""
    return (summary.get("dataset") or {}).get("test")


def comparison_cells(s: dict, n_test: int | None = None) -> list[str]:
    """One strategy's row of the comparison, from its summary (shared by the CLI and the app). The test
    accuracy carries its binomial standard error on the `n_test` test images (cifar_tui.engine.analysis.binomial)."""
    best = "-" if s.get("best_val_accuracy") is None else f"{pct(s['best_val_accuracy'])}@{s.get('best_epoch')}"
    # stopped or still training: the best validated epoch so far, in brackets, never tested (yet)
    if (partial := s.get("best_of_finished_epochs")) is not None:
        best = f"({pct(partial['val_accuracy'])}@{partial['epoch']})"
    elif s.get("note"):  # finetune tested before unfreezing: said in full under the table (NOTE_MARK)
        best += NOTE_MARK
    total, trainable = s.get("total_params") or 0, s.get("trainable_params") or 0
    params = f"{short_count(trainable)}/{short_count(total)}" if total else "-"
    rate = s.get("images_per_s")
    # The epoch budget ("5+5": head, then unfrozen) so that strategies are compared at equal head epochs.
    budget = s.get("epoch_budget") or (str(s["epochs"]) if s.get("epochs") else "-")
    if s.get("status") in ("cancelled", "failed") and s.get("epochs"):  # how far it got, not what it was given
        budget = f"{s.get('epoch') or 0}/{s['epochs']}"
    test = accuracy_text(s.get("test_accuracy"), n_test, compact=True)
    if s.get("evaluation") and s.get("test_accuracy") is not None:
        test += " TTA"  # measured with test-time augmentation: not comparable without saying so
    if s.get("status") == "cancelled":  # says why there is no test accuracy, bracketed validation or not (the
        test = "untested"  # app's tables have no caption); a running one: not yet
    return [s.get("status", ""), best, test, budget, params,
            duration(s.get("seconds")) if s.get("seconds") is not None else "-", "-" if not rate else f"{rate:.0f}"]


def comparison_table(summary: dict, title: str | None = None) -> Table:
    """Strategy, best val acc @ epoch, test acc, params, time, img/s: the study's result (fits 80 columns)."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False)
    for column in COMPARISON_COLUMNS:
        table.add_column(column, justify="left" if column in ("strategy", "status") else "right", no_wrap=True)
    for name, s in summary.get("strategies", {}).items():
        table.add_row(name, *comparison_cells(s, test_images(summary)))
    captions = []
    if any(s.get("test_accuracy") is not None for s in summary.get("strategies", {}).values()):
        captions.append(f"test ± binomial standard error on {test_images(summary) or '?'} test images")
    if any(s.get("best_of_finished_epochs") for s in summary.get("strategies", {}).values()):
        captions.append(PARTIAL_NOTE)
    if any(s.get("note") for s in summary.get("strategies", {}).values()):
        captions.append(NOTE_CAPTION)
    table.caption = "\n".join(captions) or None
    return table


NOTE_MARK = "*"  # a best epoch that needs a sentence: finetune's before unfreezing (issue #24)
NOTE_CAPTION = f"{NOTE_MARK} tested before unfreezing: fine-tuning did not improve validation accuracy"
# Under a table with a cancelled (or running) strategy's bracketed best validation accuracy.
PARTIAL_NOTE = "(…): a cancelled or running strategy's best validation so far, not tested"


# Test-accuracy columns of the run lists: the three strategies of the study always, the probe only when a
# listed run has one (four columns still fit 80 with the full run ids).
LIST_STRATEGIES = ("scratch", "frozen", "finetune")
SHORT_NAMES = {"scratch": "scr", "frozen": "frz", "finetune": "ft", "probe": "prb"}


def listed_strategies(listings) -> tuple[str, ...]:
    """The strategies that get an accuracy column in a list of runs (`cifar-tui runs list`, the Runs screen)."""
    return LIST_STRATEGIES + (("probe",) if any("probe" in r.strategies for r in listings) else ())


SHORT_ID = 17  # characters of the shortened id: "alpha-0001", "resu…000-e8bd6d21"


def short_id(run_id: str) -> str:
    """At most SHORT_ID characters that still tell runs apart: the name after the id's date and time, as the
    Compare screen names runs (`20270115-080000-alpha-0001` -> `alpha-0001`); a longer name keeps its end,
    where a study cell's index and the id's random part are (`resu…000-e8bd6d21`: cut at its end, two cells
    of one study read the same)."""
    parts = run_id.split("-", 2)
    if len(parts) == 3 and len(parts[0]) == 8 and len(parts[1]) == 6:
        run_id = parts[2]  # the date and time are the Runs screen's "started" column
    if len(run_id) <= SHORT_ID:
        return run_id
    tail = min(KEPT_END, SHORT_ID - 2)
    return run_id[: SHORT_ID - 1 - tail] + "…" + run_id[-tail:]


KEPT_END = 12  # "000-e8bd6d21": a study cell's index and the id's 8 random hex digits


def runs_lines(listings) -> list[str]:
    """`cifar-tui runs list` as fixed-width lines, 80 columns. Plain text on purpose: a Rich table takes
    over a second to lay out 1,000 runs; these lines take milliseconds, and grep and awk read them."""
    names = listed_strategies(listings)
    rows = [("run", "status", "data", *(SHORT_NAMES[n] for n in names), "time")]
    substitutes = False
    for r in listings:
        accs = []
        for name in names:
            acc = (r.strategies.get(name) or {}).get("test_accuracy")
            accs.append("" if name not in r.strategies else "-" if acc is None else f"{100 * acc:.1f}")
        substitute = any("INSTEAD OF" in n for n in r.notices)
        substitutes = substitutes or substitute
        rows.append((r.run_id, r.status, (r.dataset or "-") + ("*" if substitute else ""), *accs,
                     duration(r.seconds)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    # Two spaces between columns; one between accuracies where two would pass 80 columns (a long status
    # beside the probe's column): right-aligned numbers stay apart either way.
    gap = "  " if sum(widths) + 2 * (len(widths) - 1) <= 80 else " "
    lines = []
    for row in rows:
        left = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths[:3], strict=True))
        accs = gap.join(cell.rjust(w) for cell, w in zip(row[3:-1], widths[3:-1], strict=True))
        lines.append(f"{left}  {accs}  {row[-1].rjust(widths[-1])}".rstrip())
    legend = ", ".join(f"{SHORT_NAMES[n]} = {n}" for n in names)
    lines.append(f"test accuracy, %: {legend}")
    if substitutes:
        lines.append("* = substitute data or weights used")  # its own line: one legend line passed 80 columns
    # a writer that holds its run's lock but has not beaten lately: stopped (Ctrl-Z, kill -STOP) or busy
    lines += [f"{r.run_id}: {r.status_text}" for r in listings if r.quiet_s is not None]
    return lines


def epochs_table(state: RunState) -> Table:
    table = Table(title="epochs", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)  # fits 80 columns without cutting a header
    for column in ("strategy", "phase", "epoch", "loss", "acc", "val loss", "val acc", "lr", "seconds"):
        table.add_column(column, justify="left" if column in ("strategy", "phase") else "right", no_wrap=True)
    for name, s in state.strategies.items():
        for h in s.history:
            table.add_row(name, h["phase"], f"{h['epoch']}/{h['epochs']}", _f(h["loss"]), pct(h["accuracy"]),
                          _f(h["val_loss"]), pct(h["val_accuracy"]), rate(h["learning_rate"]),
                          f"{h['seconds']:.1f}")
    return table


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# `runs compare`: what a narrower terminal gives up first, in order: the full run id (named as the Compare
# screen and the config diff name runs, `alpha-0001`), then img/s, params, time (`runs show` has them all).
COMPARE_DROPPED_FIRST = ("img/s", "params", "time")


def columns_that_fit(columns: list[str], rows: list[tuple], width: int) -> list[str]:
    """`columns` less the fewest of COMPARE_DROPPED_FIRST (in that order) that leave every cell of `rows`
    (one string per column, in `columns` order) whole in `width` cells: two cells between columns and one
    at each edge, as in `runs compare` and in a DataTable's default padding."""
    def fits(shown: list[str]) -> bool:
        widths = [max(len(c) for c in (column, *(row[columns.index(column)] for row in rows))) for column in shown]
        return sum(widths) + 2 * (len(shown) - 1) + 2 <= width

    shown = list(columns)
    for column in COMPARE_DROPPED_FIRST:
        if fits(shown):
            break
        if column in shown:
            shown.remove(column)
    return shown


def compare_table(summaries: list[dict], width: int = 80) -> Table:
    """Several runs, one row per run and strategy: `cifar-tui runs compare`. The cells are `runs show`'s
    (comparison_cells: status, bracketed validation and `untested` for a cancelled strategy, epochs
    finished/budget), in `width` columns: the run ids shortened, then the least useful columns left out
    (COMPARE_DROPPED_FIRST, named in the caption) until every cell is whole."""
    rows = [(summary.get("run_id", ""), name, *comparison_cells(s, test_images(summary)))
            for summary in summaries for name, s in summary.get("strategies", {}).items()]
    columns = ["run", "strategy", *COMPARISON_COLUMNS[1:]]

    if columns_that_fit(columns, rows, width) != columns:
        rows = [(run_label(row[0]), *row[1:]) for row in rows]
    shown = columns_that_fit(columns, rows, width)
    dropped = [column for column in COMPARE_DROPPED_FIRST if column not in shown]  # in the order they leave
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False, caption_justify="left")
    for column in shown:
        table.add_column(column, justify="left" if column in ("run", "strategy", "status") else "right",
                         no_wrap=True)
    for row in rows:
        table.add_row(*[row[columns.index(column)] for column in shown])
    captions = ["data set per run: " + ", ".join(f"{(s.get('dataset') or {}).get('name', '?')}" for s in summaries)]
    if dropped:
        captions.append(f"left out at {width} columns: {', '.join(dropped)} (runs show RUN has them)")
    if any(s.get("best_of_finished_epochs") for summary in summaries for s in summary.get("strategies", {}).values()):
        captions.append(PARTIAL_NOTE)
    table.caption = "\n".join(captions)
    return table


VERDICT_STYLES = {"head": "bold", "answer": "bold", "sentence": "", "statistic": "dim", "caveat": "bold yellow"}


def verdict_parts(verdict) -> list[tuple[str, str, str]]:
    """(kind, marker, text) items of a verdict (engine/verdict/model.py) for a terminal: the heading, the
    first sentence (the answer), the others, each followed by its statistic, then the caveats."""
    head = f"Verdict ({verdict.subject})" + (f": {verdict.question}" if verdict.question else "")
    out = [("head", "", head)]
    for i, sentence in enumerate(verdict.sentences):
        out.append(("answer" if i == 0 else "sentence", "•", sentence.text + "".join(f" ({c})" for c in
                                                                               sentence.caveats)))
        if sentence.statistic:
            out.append(("statistic", "", f"[{sentence.statistic}]"))
    return out + [("caveat", "!", c) for c in verdict.caveats]


def verdict_table(verdict) -> Table:
    """The verdict's sentences, statistics and caveats (not its heading) with a hanging indent: wrapped lines
    stay under their sentence, not under its bullet."""
    table = Table.grid(padding=(0, 1))
    table.add_column(width=1, no_wrap=True)
    table.add_column(ratio=1)
    for kind, marker, text in verdict_parts(verdict)[1:]:
        table.add_row(Text(marker, style=VERDICT_STYLES[kind]), Text(text, style=VERDICT_STYLES[kind]))
    return table


def print_verdict(console, verdict) -> None:
    console.print(verdict_parts(verdict)[0][2], style=VERDICT_STYLES["head"], markup=False, highlight=False)
    console.print(verdict_table(verdict))


def study_table(record, results, conditions) -> Table:
    """One row per condition (non-seed axes): mean ± std (n) of test accuracy per strategy, and progress."""
    strategies = []
    for c in conditions:
        strategies += [n for n in c.per_strategy if n not in strategies]
    done = sum(r.status == "finished" for r in results)
    # Short headers and the unit in the caption: at 80 columns the condition (what tells the rows apart)
    # keeps its full width.
    title = f"study {record.name}: {record.title} ({done}/{len(results)} cells finished)"
    # min_width: Rich wraps a title to its table's width, and a one-strategy study's table is narrower
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD,
                  caption="test accuracy %: mean ± std (n seeds)", caption_justify="left", pad_edge=False,
                  collapse_padding=True, min_width=min(len(title), 78))
    table.add_column("condition", no_wrap=True, min_width=min(40, max((len(c.label) for c in conditions),
                                                                      default=9)))
    for name in strategies:
        table.add_column(name, justify="right")  # may wrap "(n=3)" or "diverged in k of n seeds": never cut
    for c in conditions:
        reference = record.reference is not None and c.key.get(record.x) == record.reference
        table.add_row(c.label + (" (reference)" if reference else ""),
                      *[c.per_strategy[n].text() if n in c.per_strategy else "-" for n in strategies])
    return table


def recorded_backend(state: RunState) -> str:
    """The Keras backend a run computes on ("" before it is known); runs recorded before the choice existed
    ran on TensorFlow."""
    if not (state.environment or state.config):
        return ""
    return state.environment.get("backend") or state.config.get("backend") or DEFAULT_BACKEND
