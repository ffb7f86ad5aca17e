"""The questions studies ask and the functions that answer them: the registry (`ANSWERS`, `@answers`), what
an answer reads (`StudyContext`), the generic answer, and the words every answer shares. `study.py` looks a
study's question up here; `studies.py` registers the shipped ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.study import stats as st
from cifar_tui.engine.verdict.model import Sentence


@dataclass
class StudyContext:
    """What an answer function reads: the record, its cells, conditions and the Holm-adjusted comparisons."""

    record: object  # cifar_tui.engine.study.record.StudyRecord
    results: list[st.CellResult]
    conditions: list[st.Condition]
    comparisons: list[st.Comparison]
    runs_dir: Path | None = None  # where the cells' runs are: what they recorded beyond accuracies (domains)


@dataclass
class Question:
    question: str
    answer: Callable[[StudyContext], list[Sentence]]


ANSWERS: dict[str, Question] = {}


def answers(name: str, question: str):
    """Register the decorated function as the answer to study `name`'s `question`."""
    def register(function: Callable[[StudyContext], list[Sentence]]):
        ANSWERS[name] = Question(question, function)
        return function
    return register


SHORT = {st.SIGNIFICANT: "significant", st.NOT_SIGNIFICANT: "not significant", st.ONE_SEED: "1 seed, told apart",
         st.ONE_SEED_NOT: "1 seed, not told apart", st.IDENTICAL: "identical", st.NO_SPREAD: "no spread"}


def short(d: st.Difference) -> str:
    """"+12.3 (significant)": a difference in points with its verdict in a word or two."""
    return f"{100 * d.mean:+.1f} ({SHORT.get(d.verdict, 'no test')})"


def statistic(diffs: list[st.Difference]) -> str:
    """The figures behind a sentence: the Holm-adjusted p of each difference and the method(s)."""
    tested = [d for d in diffs if d.p is not None]
    if not tested:
        return "no test: fewer than 2 seeds and no test-set size"
    methods = ", ".join(dict.fromkeys(d.method for d in tested))
    p = ", ".join(st.p_text(d.p_adjusted).removeprefix("p=").removeprefix("p") for d in tested)
    return f"Holm-adjusted p: {p}; {methods}"


def condition_label(key: dict, x: str) -> str:
    """The x value, then any other non-seed axis in brackets: "1e-3 (unfreeze=top3)"."""
    others = " ".join(f"{k}={v}" for k, v in key.items() if k != x)
    return f"{key.get(x, 'all')}" + (f" ({others})" if others else "")


def against_reference(ctx: StudyContext) -> list[Sentence]:
    """Per strategy: every condition's difference from the reference, and which are significant."""
    record, out = ctx.record, []
    by_strategy: dict[str, list[st.Comparison]] = {}
    for c in ctx.comparisons:
        if c.difference is not None:
            by_strategy.setdefault(c.strategy, []).append(c)
    for strategy, compared in by_strategy.items():
        parts = "; ".join(f"{condition_label(c.key, record.x)} {short(c.difference)}" for c in compared)
        significant = [condition_label(c.key, record.x) for c in compared if c.difference.significant]
        tail = (f"significant: {', '.join(significant)}" if significant
                else "none is significant")
        out.append(Sentence(f"{strategy} against {record.x}={record.reference}, in points: {parts}; {tail}",
                            statistic([c.difference for c in compared])))
    return out


def between_strategies(ctx: StudyContext) -> list[Sentence]:
    out = []
    for c in ctx.conditions:
        if c.differences:
            parts = "; ".join(f"{d.a} - {d.b} {short(d)}" for d in c.differences)
            out.append(Sentence(f"{c.label}, in points: {parts}", statistic(c.differences)))
    return out


def generic(ctx: StudyContext) -> list[Sentence]:
    sentences = against_reference(ctx) if ctx.record.reference is not None else []
    return sentences or between_strategies(ctx)


GENERIC = Question("Which conditions and strategies differ?", generic)
