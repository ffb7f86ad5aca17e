"""The `domains` study's answer (issue #29): does transfer's advantage over scratch depend on how far the data
is from ImageNet?

Its input is the study's evidence (engine/study/domains.py): per condition, the data set's distance from
ImageNet measured by its runs and the Holm-adjusted paired differences transfer - scratch. Per transfer
strategy and per setting of the other axes (the training-set size), one sentence lists the advantage on each
data set, nearest first, and says whether it follows the distance. The trend is tested, not read off the
order: Spearman's rank correlation between distance and advantage with its exact permutation p over the data
sets (scipy.stats.permutation_test, every pairing). With k data sets the smallest possible p is 2/k!, so four
data sets can never show a significant trend (p >= 0.083): the sentence says so instead of calling a
monotone order a finding.
"""

from __future__ import annotations

import math

from cifar_tui.engine.study.domains import TRANSFER, domain_evidence
from cifar_tui.engine.verdict.model import Sentence
from cifar_tui.engine.verdict.questions import StudyContext, answers, generic, short, statistic

ALPHA = 0.05


def rank_trend(distances: list[float], advantages: list[float]) -> tuple[float, float] | None:
    """(Spearman's rho, exact two-sided permutation p) of advantage against distance; None below 3 points or
    when either side has no spread (no ranking to correlate)."""
    if len(distances) < 3 or len(set(distances)) < 2 or len(set(advantages)) < 2:
        return None
    from scipy import stats

    def rho(y):
        return stats.spearmanr(distances, y).statistic

    # one sample permuted against the fixed distances: the k! pairings (given both samples, scipy enumerates
    # (k!)^2 orders, the same p in 196 s instead of 0.3 s at k = 6)
    result = stats.permutation_test((advantages,), rho, permutation_type="pairings", alternative="two-sided",
                                    n_resamples=math.inf)
    return float(result.statistic), float(result.pvalue)


def smallest_p(k: int) -> float:
    """The smallest two-sided exact p a rank correlation over k distinct points can reach: 2 / k!."""
    return min(1.0, 2 / math.factorial(k))


def trend_words(trend: tuple[float, float] | None, k: int) -> tuple[str, str]:
    """(words, statistic) for the trend of the advantage with distance."""
    if trend is None:
        return ("too few data sets with a measured distance and a tested difference to test a trend "
                "(3 needed)"), ""
    rho, p = trend
    figures = f"Spearman rho={rho:+.2f}, exact permutation p={p:.3f} over {k} data sets"
    if p < ALPHA:
        direction = "shrinks" if rho < 0 else "grows"
        return f"the advantage {direction} with distance from ImageNet", figures
    if smallest_p(k) >= ALPHA:
        return (f"no trend with distance can be told apart from chance with {k} data sets (the smallest "
                f"possible p is {smallest_p(k):.3f}): the order is suggestive at most"), figures
    return "no significant trend with distance from ImageNet", figures


@answers("domains", "Does transfer's advantage over scratch depend on the data's distance from ImageNet?")
def domains(ctx: StudyContext) -> list[Sentence]:
    if ctx.runs_dir is None:  # the distances are in the runs: without them, the generic comparisons
        return generic(ctx)
    evidence = domain_evidence(ctx.record, ctx.results, ctx.conditions, ctx.runs_dir)
    if evidence is None:
        return [Sentence("No run of this study recorded a distance from ImageNet (domain_distance off): the "
                         "question cannot be answered")]
    out = []
    x = ctx.record.x
    for strategy in TRANSFER:
        groups: dict[tuple, list] = {}
        for dataset, key, distance, difference in evidence.points(strategy):
            others = tuple((k, v) for k, v in key.items() if k != x)
            groups.setdefault(others, []).append((dataset, distance, difference))
        for others, points in groups.items():
            setting = ", ".join(f"{k}={v}" for k, v in others)
            parts = "; ".join(f"{dataset} ({distance:.2f} nats) {short(d)}" for dataset, distance, d in points)
            words, figures = trend_words(rank_trend([p[1] for p in points], [p[2].mean for p in points]),
                                         len(points))
            text = (f"{strategy} - scratch{f' ({setting})' if setting else ''}, nearest data set first, in "
                    f"points: {parts}; {words}")
            out.append(Sentence(text, "; ".join(s for s in (figures, statistic([p[2] for p in points])) if s)))
    unmeasured = sorted({r.distance.dataset for r in evidence.rows if r.distance.value is None})
    if unmeasured:
        out.append(Sentence(f"Left out of the trend, no distance measured: {', '.join(unmeasured)}",
                            "; ".join(dict.fromkeys(r.distance.text() for r in evidence.rows
                                                    if r.distance.value is None))))
    return out
