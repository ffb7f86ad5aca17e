"""A study's verdict: the answer to its own question, from its paired differences (engine/study/stats.py).

Each study name maps to a `Question` (its question in words and the function that answers it) in
`ANSWERS`; a study without one gets the generic answer: which conditions differ from the reference (per
strategy), or, without a reference, which strategies differ within each condition. A new study plugs in
with `@answers("domains", "Does transfer's advantage depend on the domain?")` above its answer function
(engine/verdict/questions.py; see engine/verdict/studies.py for the shipped ones). The lookup tries the
study's name, then its spec file's name (a study run under another `--name` keeps its question), then the
generic answer.
"""

from __future__ import annotations

from pathlib import Path

from cifar_tui.engine.study import stats as st
from cifar_tui.engine.verdict import caveats as cv
from cifar_tui.engine.verdict import domains, studies  # noqa: F401  (register the shipped studies' answers)
from cifar_tui.engine.verdict.model import Sentence, Verdict
from cifar_tui.engine.verdict.questions import ANSWERS, GENERIC, Question, StudyContext


def question_for(record) -> Question:
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


def study_verdict(record, results: list[st.CellResult], conditions: list[st.Condition],
                  runs_dir: Path | None = None) -> Verdict:
    """The answer to the study's question. `runs_dir` (the cells' runs folder) lets an answer read what the
    runs recorded beyond their accuracies (the domains study: each data set's distance from ImageNet)."""
    ctx = StudyContext(record, results, conditions, st.study_comparisons(conditions, record.x, record.reference),
                       runs_dir)
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
