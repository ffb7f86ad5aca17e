"""The shipped studies' questions and how their verdicts answer them (engine/studies/*.toml).

Each answer reads the study's Holm-adjusted paired differences (engine/study/stats.py) and says only what
they support: a difference is called significant only where its adjusted p is below 0.05, and everything
else is stated as a number with its verdict beside it.
"""

from __future__ import annotations

from cifar_tui.engine.study import stats as st
from cifar_tui.engine.verdict.model import Sentence
from cifar_tui.engine.verdict.questions import (
    StudyContext,
    against_reference,
    answers,
    condition_label,
    short,
    statistic,
)

TRANSFER = ("finetune", "frozen", "probe")


def advantage_series(ctx: StudyContext, strategy: str, over: str = "scratch") -> list[tuple[str, st.Difference]]:
    """(condition, strategy - over) for every condition that has both, in grid order."""
    return [(condition_label(c.key, ctx.record.x), d) for c in ctx.conditions for d in c.differences
            if (d.a, d.b) == (strategy, over)]


def where_it_stops(series: list[tuple[str, st.Difference]]) -> str:
    """Where a series (in axis order) stops being significant, in words."""
    flags = [d.significant for _, d in series]
    if all(flags):
        return "significant at every size"
    if not any(flags):
        return "significant at no size"
    last = max(i for i, f in enumerate(flags) if f)
    if last == len(flags) - 1:
        return "significant at " + ", ".join(label for (label, _), f in zip(series, flags, strict=True) if f)
    return (f"significant up to {series[last][0]}; from {series[last + 1][0]} on, seeds and test set cannot "
            f"tell them apart")


@answers("data-efficiency", "When does transfer beat training from scratch, by training-set size?")
def data_efficiency(ctx: StudyContext) -> list[Sentence]:
    out = []
    for strategy in TRANSFER:
        series = advantage_series(ctx, strategy)
        if series:
            parts = ", ".join(f"{label} {short(d)}" for label, d in series)
            out.append(Sentence(f"{strategy}'s advantage over scratch, in points: {parts}; {where_it_stops(series)}",
                                statistic([d for _, d in series])))
    return out or against_reference(ctx)


@answers("seed-replication", "How much of the notebook's gap between transfer and scratch was its pipeline?")
def seed_replication(ctx: StudyContext) -> list[Sentence]:
    out = []
    reference = ctx.record.reference
    for strategy in ("frozen", "finetune"):
        series = advantage_series(ctx, strategy)
        if len(series) < 2:
            continue
        parts = "; ".join(f"{label} {short(d)}" for label, d in series)
        text = f"{strategy} - scratch, in points, per setup: {parts}"
        gaps = {label: d.mean for label, d in series}
        corrected = gaps.get(str(reference))
        if corrected is not None:
            moves = ", ".join(f"{label} {100 * (corrected - gap):+.1f}" for label, gap in gaps.items()
                              if label != str(reference))
            text += (f"; the corrected pipeline moves this gap by {moves} points (each gap tested on its own; "
                     f"the change between them is not tested)")
        out.append(Sentence(text, statistic([d for _, d in series])))
    costs = against_reference(ctx)
    for sentence in costs:
        sentence.text = "The pipeline's effect on " + sentence.text
    return out + costs


answers("preprocessing-ablation", "What does each preprocessing mistake cost each strategy?")(against_reference)
answers("resolution", "How much does EfficientNet's input size matter for transfer?")(against_reference)
answers("finetune-lr", "Which phase-2 learning rate fine-tunes best, and does a large one forget?")(against_reference)
