"""One run's verdict: the ranking, which differences the test set can tell apart, and what limits it.

Between two strategies of one run, both tested on the same images: McNemar's exact test on their per-image
predictions (engine/analysis/paired_tests.py), or, for a run recorded without them, a z test on the largest
possible test-sampling error (`bound_variance`); the run's pairs corrected together with Holm's procedure. A
strategy whose accuracy a binomial test cannot tell from guessing is said to be at chance. One run is one
seed: every verdict says so, and what the substitutions (random init, another data set) and deliberate
mistakes limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.analysis import paired_tests as pt
from cifar_tui.engine.analysis.binomial import accuracy_text
from cifar_tui.engine.verdict import caveats as cv
from cifar_tui.engine.verdict.model import Sentence, Verdict

PAIRS = (("finetune", "scratch"), ("frozen", "scratch"), ("finetune", "frozen"), ("probe", "frozen"))
ALPHA = 0.05


@dataclass
class PairTest:
    a: str
    b: str
    test: pt.SampleTest
    identical: bool = False  # the same prediction on every image (finetune's best epoch before unfreezing)
    p_holm: float | None = None


def run_caveats(summary: dict) -> list[str]:
    """Substitutions, deliberate mistakes and one seed, in the order a reader needs them."""
    out = []
    strategies = summary.get("strategies") or {}
    # the transfer strategies that started (a reviewer read "frozen and finetune started from random weights"
    # of a run cancelled before either began)
    transfer = [n for n in (summary.get("config") or {}).get("strategies", strategies) if n in cv.TRANSFER
                and (strategies.get(n) or {}).get("status") not in (None, "pending", "not started")]
    weights, dataset = summary.get("weights") or {}, summary.get("dataset") or {}
    if transfer and cv.is_random_init(str(weights.get("label", "")), weights.get("pretrained")):
        out.append(cv.random_init_caveat(transfer, fallback=bool(weights.get("notice"))))
    if (data := cv.dataset_caveat(str(dataset.get("name") or ""), dataset.get("substituted_for") or "")):
        out.append(data)
    out += cv.mistake_caveats(summary.get("notices") or [])
    ended = summary.get("status") not in ("running", "pending", "starting", "stopping")
    for name, s in strategies.items():
        status = s.get("status")
        if status in ("cancelled", "failed"):
            out.append(f"{name} {status} before its test: not ranked")
        elif status in ("pending", "running"):
            out.append(f"{name} {'did not run' if ended else 'has not been tested yet'}: not ranked")
        elif s.get("evaluation") and s.get("test_accuracy") is not None:
            out.append(f"{name} was tested with {s['evaluation']}, the others plainly")
    return out + [cv.ONE_SEED]


def pair_tests(tested: dict[str, float], sample, n_test: int | None) -> list[PairTest]:
    from cifar_tui.engine.analysis.multiplicity import holm

    out = []
    for a, b in PAIRS:
        if a not in tested or b not in tested:
            continue
        ca, cb = (sample.correct.get(a), sample.correct.get(b)) if sample else (None, None)
        if ca is not None and cb is not None:
            out.append(PairTest(a, b, pt.mcnemar(ca, cb), identical=bool((ca == cb).all())))
        elif n_test:
            pa, pb = tested[a], tested[b]
            out.append(PairTest(a, b, pt.bounded([pa - pb], [pt.bound_variance(pa, pb, n_test)], n_test)))
    for pair, adjusted in zip(out, holm([p.test.p for p in out]), strict=True):
        pair.p_holm = adjusted
    return out


def p_words(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def pair_sentence(pair: PairTest, random_init: bool) -> Sentence:
    test, points = pair.test, 100 * abs(pair.test.mean)
    if test.method == pt.MCNEMAR:
        only_a, only_b = test.discordant
        statistic = (f"McNemar exact: {only_a} image{'s' if only_a != 1 else ''} only {pair.a} got right, "
                     f"{only_b} only {pair.b}; "
                     f"{p_words(test.p)}, Holm {p_words(pair.p_holm)}; {test.images:,} test images")
    else:
        statistic = (f"no usable per-image predictions: z on the largest possible test-sampling SE "
                     f"({100 * test.se:.1f} pts), {p_words(test.p)}, Holm {p_words(pair.p_holm)}")
    limits = ["random-init backbone: not transfer"] if random_init and ({pair.a, pair.b} & set(cv.TRANSFER)) else []
    if pair.identical:
        return Sentence(f"{pair.a} and {pair.b} made the same prediction on every test image", statistic, limits)
    if pair.p_holm < ALPHA:
        winner, loser = (pair.a, pair.b) if test.mean > 0 else (pair.b, pair.a)
        return Sentence(f"{winner} beat {loser} by {points:.1f} points, a difference this test set tells apart",
                        statistic, limits)
    return Sentence(f"{pair.a} and {pair.b} differ by {points:.1f} points: this test set cannot tell them apart",
                    statistic, limits)


def chance_sentence(name: str, accuracy: float, n_test: int, classes: int) -> Sentence | None:
    """Said only of a strategy a one-sided binomial test cannot tell from guessing (1 / classes)."""
    from scipy import stats

    guess = 1.0 / classes
    p = float(stats.binomtest(round(accuracy * n_test), n_test, guess, alternative="greater").pvalue)
    if p < ALPHA:
        return None
    return Sentence(f"{name} is at chance level: {100 * accuracy:.1f}% where guessing among {classes} classes "
                    f"gives {100 * guess:.0f}%; it learned nothing this test set can detect",
                    f"binomial test against {100 * guess:.0f}%, {p_words(p)}, {n_test:,} test images")


def run_verdict(summary: dict, run_dir: Path | None = None) -> Verdict:
    """`summary`: the run's summary (`RunState.summary()`, summary.json); `run_dir`: its folder, for the
    per-image predictions McNemar's test pairs (without them, a bound of the test-sampling error)."""
    from cifar_tui.engine.store.correctness import read_test_sample

    verdict = Verdict(f"run {summary.get('run_id', '')}", caveats=run_caveats(summary))
    tested = {n: float(s["test_accuracy"]) for n, s in (summary.get("strategies") or {}).items()
              if s.get("status") == "finished" and s.get("test_accuracy") is not None
              and math.isfinite(s["test_accuracy"])}
    if not tested:
        verdict.sentences.append(Sentence("No strategy has been tested yet: there is nothing to conclude"))
        return verdict
    weights, dataset = summary.get("weights") or {}, summary.get("dataset") or {}
    random_init = cv.is_random_init(str(weights.get("label", "")), weights.get("pretrained"))
    if random_init and set(tested) & set(cv.TRANSFER):
        verdict.sentences.append(Sentence(f"{cv.NO_TRANSFER_CONCLUSION}; {cv.WEIGHTS_FIX}",
                                          f"weights: {weights.get('label', 'random init')}"))
    n_test = dataset.get("test")
    ranked = sorted(tested, key=lambda n: -tested[n])
    figures = ", ".join(f"{n} {accuracy_text(tested[n], n_test)}" for n in ranked)
    top = [n for n in ranked if tested[n] == tested[ranked[0]]]
    first = (f"{ranked[0]} was the only strategy tested" if len(ranked) == 1 else f"{ranked[0]} came first"
             if len(top) == 1 else f"{' and '.join(top)} tied first")
    where = f" on {n_test:,} {dataset.get('name') or ''} test images".replace("  ", " ") if n_test else ""
    verdict.sentences.append(Sentence(f"{first}: {figures}{where}", "± binomial standard error"))
    sample = read_test_sample(run_dir, tested, summary) if run_dir is not None else None
    for pair in pair_tests(tested, sample, n_test):
        verdict.sentences.append(pair_sentence(pair, random_init))
    labels = sample.labels if sample is not None else None
    classes = int(labels.max()) + 1 if labels is not None and len(labels) else 10
    for name in ranked:
        if n_test and (said := chance_sentence(name, tested[name], n_test, classes)):
            verdict.sentences.append(said)
    return verdict
