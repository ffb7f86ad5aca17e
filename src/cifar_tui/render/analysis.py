"""Below a run's comparison, in the app and in `runs show`: what each result means beyond its numbers
(finetune tested before unfreezing) and how each strategy trained (its recipe line), per-class accuracy
(where transfer helps most) and what fine-tuning changed in each backbone block (relative weight change of
the variables the optimiser trained and debiased linear CKA against the start), as Rich text bar charts."""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text

from cifar_tui.engine.analysis.per_class import BOUNDED, PAIRED, PerClass, per_class
from cifar_tui.engine.run.state import RunState
from cifar_tui.render.tables import SHORT_NAMES
from cifar_tui.render.theme import STRATEGY_STYLES

BAR_WIDTH = 20
NBSP = "\u00a0"  # holds a gain's place where it has no "*" (Rich strips a plain trailing space)


def bar(value: float, scale: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of eighth-blocks: `value` of `scale` fills `width` cells."""
    if not math.isfinite(value) or scale <= 0:
        return ""
    eighths = max(0, min(width * 8, round(value / scale * width * 8)))
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def per_class_table(state: RunState, pc: PerClass | None = None, exact_when_ended: bool = False,
                    narrow: bool = False) -> Table | Group | None:
    """The per-class accuracies and gains over scratch; `pc`: computed with the exact tests (per_class_of_run),
    else from `state` alone (the bound). `exact_when_ended`: the app during a run, whose caption says the
    bound's stars are replaced by the exact test's when the run ends. `narrow`: strategies named short
    (scr, frz, ft) and one space between columns, so that a 50-column panel holds every header whole."""
    pc = pc or per_class(state)
    if pc is None:
        return None
    table = Table(title="per-class test accuracy %", title_justify="left", box=None, pad_edge=False,
                  collapse_padding=narrow)
    table.add_column("class")
    for name in pc.accuracy:
        table.add_column(SHORT_NAMES.get(name, name) if narrow else name, justify="right",
                         style=STRATEGY_STYLES.get(name, ""))
    for pair in pc.gains:
        name = pair.split(" ")[0]
        table.add_column("Δ" + (SHORT_NAMES.get(name, name) if narrow else name), justify="right")
    top = {c for pair in pc.gains for c, _ in pc.best_gains(pair, 3)}
    for i, cls in enumerate(pc.class_names):
        cells = ["-" if a[i] is None else f"{100 * a[i]:.0f}" for a in pc.accuracy.values()]
        cells += ["-" if g[i] is None else f"{100 * g[i]:+.0f}{'*' if pc.told_apart(pair, i) else NBSP}"
                  for pair, g in pc.gains.items()]
        table.add_row(Text(cls, style="bold" if cls in top else ""), *cells)
    if pc.gains:
        sizes = sorted(set(pc.class_sizes))
        each = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
        used = pc.test_used()
        star = {PAIRED: f"p < 0.05, {PAIRED}", BOUNDED: BOUNDED}.get(used, f"p < 0.05, {PAIRED}, or {BOUNDED}")
        if exact_when_ended and used == BOUNDED:  # the app, during a run: the stars may change at its end
            star = (f"{BOUNDED.split(' (')[0]} until the run has ended, then {PAIRED} on the per-image "
                    "predictions")
        # under the table as a paragraph of the full width: as the table's caption it wrapped to the table's
        # width (five lines), and a minimum width for it cut the strategies' headers in a narrow panel
        return Group(table, Text(f"Δ: one run's gain over scratch, points, on {each} test images per class; "
                                 f"*: {star}; the others this test set cannot tell apart", style="dim"))
    return table


def recipe_text(state: RunState) -> Text | None:
    """Per strategy: its note (finetune tested before unfreezing, issue #24) and its recipe line."""
    out = Text()
    for name, s in state.strategies.items():
        if note := s.note():
            out.append(f"{name}: {note}\n", style="bold yellow")
    for name, s in state.strategies.items():
        if s.recipe:
            out.append(f"{name}: ", style=STRATEGY_STYLES.get(name, ""))
            out.append(s.recipe + (f"; test set: {s.evaluation}" if s.evaluation else "") + "\n", style="dim")
    return out if out.plain else None


def backbone_change_text(state: RunState) -> Text | None:
    s = state.strategies.get("finetune")
    change = s.backbone_change if s is not None else None
    if not change:
        return None
    finite = [w for w in change["weight_change"] if w is not None and math.isfinite(w)]
    scale = max(finite) if finite and max(finite) > 0 else 1.0
    out = Text(f"what fine-tuning changed, per block (vs {change['reference']}; debiased linear CKA on "
               f"{change['images']} test images)\n", style="bold")
    if change.get("weights"):  # which weights: the tested model's, or fine-tuning's own (issue #24)
        out.append(f"weights analysed: {change['weights']}\n",
                   style="bold yellow" if "not the tested model" in change["weights"] else "")
    out.append(f"{'block':<7} {'weight change':<{BAR_WIDTH + 7}} CKA before/after\n", style="dim")
    for block, w, c in zip(change["blocks"], change["weight_change"], change["cka"], strict=True):
        w = math.nan if w is None else w
        c = math.nan if c is None else c
        out.append(f"{block:<7} ")
        out.append(f"{bar(w, scale):<{BAR_WIDTH}}", style="magenta")
        out.append(f" {w:5.3f}  " if math.isfinite(w) else "   -   ")
        out.append(f"{bar(c, 1.0, 12):<12}", style="cyan")
        out.append(f" {c:5.2f}\n" if math.isfinite(c) else "  -\n")  # debiased CKA can dip below 0
    return out
