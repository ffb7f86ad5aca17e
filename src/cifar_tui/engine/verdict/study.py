"""A study's verdict: the answer to its own question, from its paired differences (engine/study/stats.py).

Each study name maps to a `Question` (its question in words and the function that answers it) in
`ANSWERS`; a study without one gets the generic answer: which conditions differ from the reference (per
strategy), or, without a reference, which strategies differ within each condition. A new study plugs in
with `@answers("domains", "Does transfer's advantage depend on the domain?")` above its answer function
(see engine/verdict/studies.py for the shipped ones). The lookup tries the study's name, then its spec
file's name (a study run under another `--name` keeps its question), then the generic answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.study import stats as st
from cifar_tui.engine.verdict import caveats as cv
from cifar_tui.engine.verdict.model import Sentence, Verdict


@dataclass
class StudyContext:
    """What an answer function reads: the record, its cells, conditions and the Holm-adjusted comparisons."""

    record: object  # cifar_tui.engine.study.record.StudyRecord
    results: list[st.CellResult]
    conditions: list[st.Condition]
    comparisons: list[st.Comparison]


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


def question_for(record) -> Question:
    from cifar_tui.engine.verdict import studies  # noqa: F401  (registers the shipped studies' answers)

    stem = Path(str(record.source or "")).stem
    return ANSWERS.get(record.name) or ANSWERS.get(stem) or GENERIC


def study_caveats(ctx: StudyContext) -> list[str]:
    results = [r for r in ctx.results if r.test_accuracy]
    out = []
    strategies = sorted({n for r in results for n in r.test_accuracy if n in cv.TRANSFER})
    if strategies and any(cv.is_random_init(r.weights) for r in results):
        fallback = any("RANDOM INIT USED INSTEAD" in n for r in results for n in r.notices)
        out.append(cv.random_init_caveat(strategies, fallback))
    substituted = any("INSTEAD OF CIFAR-10" in n for r in results for n in r.notices)
    for name in sorted({r.dataset for r in results if r.dataset}):
        if (said := cv.dataset_caveat(name, "cifar10" if substituted else "")):
            out.append(said)
    done, total = sum(r.status == "finished" for r in ctx.results), len(ctx.results)
    if done < total:
        out.append(f"{done} of {total} cells finished: the verdict covers the results so far")
    if results and max((s.n for c in ctx.conditions for s in c.per_strategy.values()), default=0) < 2:
        out.append(cv.ONE_SEED.replace("this run", "these cells"))
    family = sum(d.p is not None for d in [*(c.difference for c in ctx.comparisons if c.difference),
                                           *(d for c in ctx.conditions for d in c.differences)])
    if family:
        out.append(f"{family} comparisons, corrected together (Holm); each accounts for the test sample "
                   f"(docs/statistics.md)")
    return out


def study_verdict(record, results: list[st.CellResult], conditions: list[st.Condition]) -> Verdict:
    ctx = StudyContext(record, results, conditions, st.study_comparisons(conditions, record.x, record.reference))
    question = question_for(record)
    verdict = Verdict(f"study {record.name}", caveats=study_caveats(ctx), question=question.question)
    if not any(r.test_accuracy for r in results):
        verdict.sentences.append(Sentence("No cell has a tested strategy yet: there is nothing to conclude"))
        return verdict
    if any(c.startswith("Random init") for c in verdict.caveats):
        verdict.sentences.append(Sentence(f"{cv.NO_TRANSFER_CONCLUSION}; {cv.WEIGHTS_FIX}", "weights: random init"))
    nothing = ("Nothing to compare: no reference condition (add reference = \"...\" to the spec) and one strategy"
               if record.reference is None else "No two results can be compared yet")
    verdict.sentences += question.answer(ctx) or [Sentence(nothing)]
    return verdict
