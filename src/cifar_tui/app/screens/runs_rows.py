"""What a run's row in the Runs screen's table says: its cells, its status and accuracy text, and whether
it matches the filter. The columns shown at each width are the screen's business (runs.py)."""

from __future__ import annotations

import time

from cifar_tui.engine.store.reader import RunListing, start_time

STRATEGY_COLUMNS = ("scratch", "frozen", "finetune", "probe")  # test accuracy, %
COLUMNS = ("run", "status", "started", "data", *STRATEGY_COLUMNS, "time", "name / note")
NUMERIC = (*STRATEGY_COLUMNS, "time")  # sorted as numbers, runs without a value last
# Below WIDE_FROM columns (80x24 over SSH) the id column is shortened and "started" (the id's own date) and
# the name are left out, so every strategy's accuracy stays on screen.
COMPACT_COLUMNS = ("run", "status", "data", *STRATEGY_COLUMNS, "time")
WIDE_FROM = 110
# The longest id the wide table shows whole (an unnamed run's is 28): with a study cell's (35 and more) the
# row passed 120 columns and the time column was cut to "ti".
FULL_ID_MAX = 28


def listing_row(r: RunListing) -> tuple:
    """One run's cells in the order of COLUMNS (accuracies in %, None where the run has no value)."""
    accs = []
    for name in STRATEGY_COLUMNS:
        acc = (r.strategies.get(name) or {}).get("test_accuracy")
        accs.append(None if acc is None else round(100 * acc, 1))
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)) if r.started else ""
    substitute = any("INSTEAD OF" in n for n in r.notices)
    label = " - ".join(part for part in (r.name, r.note) if part)
    return (r.run_id, r.status, started, r.dataset + ("*" if substitute else ""), *accs, r.seconds or 0.0, label)


def status_cell(r: RunListing) -> str:
    """The status column: a writer that holds its lock without beating (stopped, or busy) is "running,
    quiet"; the line under the table says for how long (the column stays narrow enough for 80 columns)."""
    return "running, quiet" if r.status == "running" and r.quiet_s is not None else r.status


def accuracy_cells(r: RunListing, accs) -> list[str]:
    """The strategy columns' text, as `runs list` writes them: blank where the run has no such strategy,
    "-" where it has one without a test accuracy (cancelled, failed or not run yet)."""
    return ["" if name not in r.strategies else "-" if v is None else f"{v:.1f}%"
            for name, v in zip(STRATEGY_COLUMNS, accs, strict=True)]


def matches(r: RunListing, text: str) -> bool:
    text = text.lower().strip()
    return not text or any(text in str(v).lower()
                           for v in (r.run_id, r.status, r.dataset, r.name, r.weights, r.note))


def sort_key(column_index: int, shown: list[RunListing]):
    """The key of rows (listing_row's) sorted on COLUMNS[column_index]. The run and its start are ordered by
    when it started (UTC), not by the id's local-time text: a run started under another time zone or across a
    daylight-saving change sorts where it happened; numbers as numbers, runs without a value last."""
    column = COLUMNS[column_index]
    if column in ("run", "started"):
        started = {r.run_id: start_time(r) for r in shown}
        return lambda row: started[row[0]]
    if column in NUMERIC:
        return lambda row: (row[column_index] is None, row[column_index] or 0)
    return lambda row: str(row[column_index])
