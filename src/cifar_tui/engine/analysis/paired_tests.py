"""Tests of a difference in test accuracy that account for the test sample (issue #24, section 6).

Every seed of a study is tested on the same test images, so the spread of a difference over seeds
measures training noise only: the test set's own sampling error is common to every seed and does not
average out over seeds. The tests here add it. Accuracies and differences are fractions of 1.

- One seed, per-image predictions of both sides on the same images: **McNemar's exact test** (McNemar
  1947; recommended by Dietterich 1998, "Approximate statistical tests for comparing supervised
  classification learning algorithms"). Of the b + c images exactly one side gets right, b favour side a;
  with no difference b ~ Binomial(b + c, 1/2) (`scipy.stats.binomtest`, two-sided, exact). It covers the
  test sample only: one seed says nothing of training noise.
- Several seeds on the same test images: **seeds x test images**. The per-image differences
  Y[s, i] = a[s, i] - b[s, i] (1 right, 0 wrong) form a two-way crossed layout with both factors random (a
  seed is a draw of training randomness, an image a draw from the image distribution), so the mean
  difference has variance var_seed / S + var_image / N + var_residual / (S N), estimated from the two-way
  ANOVA mean squares with negative components set to 0 (Searle, Casella & McCulloch 1992, "Variance
  Components", ch. 4), and is compared with Student's t on Satterthwaite's (1946) degrees of freedom. It
  covers training noise and the test sample together (both matter: Bouthillier et al. 2021, "Accounting
  for variance in machine learning benchmarks"). With negligible image variance it is the paired t over
  seeds; with negligible seed variance, a paired z over the test images.
- Otherwise (seeds tested on different test subsets, sides on different images, or a side without
  per-image predictions): **seeds + test bound**: the between-seed variance of the per-seed differences
  plus an upper bound of the test-sampling variance (each seed's paired variance, or unpaired where the
  images differ, or at most (min(pa + pb, 2 - pa - pb) - (pa - pb)^2) / N from the accuracies alone, as
  if the two sides disagreed on as many images as their accuracies allow; seeds taken as fully correlated),
  on Satterthwaite's degrees of freedom: conservative, never smaller than the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
MCNEMAR, CROSSED, BOUNDED = "McNemar exact", "seeds x test images", "seeds + test bound"
REFERENCES = {
    MCNEMAR: "McNemar's exact test on the paired per-image predictions (McNemar 1947; Dietterich 1998): the "
             "test sample only, one seed",
    CROSSED: "mean per-image difference over seeds x test images, two-way random effects (Searle et al. 1992), "
             "Student's t on Satterthwaite's df: training noise and the test sample (Bouthillier et al. 2021)",
    BOUNDED: "between-seed variance plus an upper bound of the test-sampling variance (per-image predictions "
             "missing or on different images), Satterthwaite's df: conservative",
}


@dataclass
class SampleTest:
    """A difference a - b (fractions of 1) tested against 0, two-sided, with what it accounts for."""

    mean: float
    se: float  # standard error of the mean difference (0: every seed and image agree)
    p: float
    ci: tuple[float, float]  # 95%
    method: str  # MCNEMAR, CROSSED or BOUNDED
    images: int  # test images per seed (the smaller side's where they differ)
    df: float | None = None  # None: exact (McNemar) or normal
    se_seeds: float | None = None  # the training-noise part (None with one seed)
    se_test: float | None = None  # the test-sampling part
    discordant: tuple[int, int] | None = None  # McNemar's (b, c): images only a / only b got right

    def to_dict(self) -> dict:
        return {"mean": self.mean, "se": self.se, "p": self.p, "ci95": list(self.ci), "method": self.method,
                "images": self.images, "df": self.df, "se_seeds": self.se_seeds, "se_test": self.se_test,
                "discordant": list(self.discordant) if self.discordant else None}


def _interval(mean: float, se: float, df: float | None, images: int) -> tuple[tuple[float, float], float]:
    """(95% interval, two-sided p) of `mean` with standard error `se` on t(df) (normal when df is None). With
    no spread at all (every seed and image differ alike) the p is the exact sign test's on the images that
    differ, 2 * 0.5^k: a handful of images proves nothing, whatever the variance estimate says."""
    from scipy import stats

    if se <= 0:
        return (mean, mean), min(1.0, 2 * 0.5 ** round(abs(mean) * images)) if mean != 0 else 1.0
    args = () if df is None or df > 1e6 else (df,)
    dist = stats.t if args else stats.norm  # not frozen: freezing a distribution costs more than the test
    half = float(dist.ppf(0.5 + LEVEL / 2, *args)) * se
    return (mean - half, mean + half), float(2 * dist.sf(abs(mean) / se, *args))


def mcnemar(a: np.ndarray, b: np.ndarray) -> SampleTest:
    """`a`, `b`: bool (N,), whether each side got each test image right, same images in the same order."""
    from scipy import stats

    a, b = np.asarray(a, bool), np.asarray(b, bool)
    n = len(a)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    mean = (only_a - only_b) / n
    variance = ((only_a + only_b) / n - mean ** 2) / n  # of the mean paired difference
    se = math.sqrt(max(variance, 0.0))
    ci, _ = _interval(mean, se, None, n)
    p = float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue) if only_a + only_b else 1.0
    return SampleTest(mean, se, p, ci, MCNEMAR, n, se_test=se, discordant=(only_a, only_b))


def crossed(y: np.ndarray) -> SampleTest:
    """`y`: (S, N) per-image differences a - b (values -1, 0, 1) of S >= 2 seeds on the same N images."""
    y = np.asarray(y, dtype=np.float64)
    s, n = y.shape
    grand = float(y.mean())
    seed_means, image_means = y.mean(axis=1), y.mean(axis=0)
    ms_seed = n * float(np.sum((seed_means - grand) ** 2)) / (s - 1)
    ms_image = s * float(np.sum((image_means - grand) ** 2)) / (n - 1)
    residual = y - seed_means[:, None] - image_means[None, :] + grand
    ms_res = float(np.sum(residual ** 2)) / ((s - 1) * (n - 1))
    # Var(mean) = var_seed/S + var_image/N + var_res/(SN), each component from its mean square; a negative
    # estimate is set to 0, and its mean square then leaves the sum (coefficients below, for Satterthwaite)
    terms = [(ms_res, (s - 1) * (n - 1), 1.0)]
    if ms_seed > ms_res:
        terms += [(ms_seed, s - 1, 1.0)]
        terms[0] = (ms_res, terms[0][1], terms[0][2] - 1.0)
    if ms_image > ms_res:
        terms += [(ms_image, n - 1, 1.0)]
        terms[0] = (ms_res, terms[0][1], terms[0][2] - 1.0)
    variance = sum(c * ms for ms, _, c in terms) / (s * n)
    se = math.sqrt(max(variance, 0.0))
    df = satterthwaite([(c * ms / (s * n), d) for ms, d, c in terms])
    ci, p = _interval(grand, se, df, n)
    seed_part = max(ms_seed - ms_res, 0.0) / (n * s)
    return SampleTest(grand, se, p, ci, CROSSED, n, df, se_seeds=math.sqrt(seed_part),
                      se_test=math.sqrt(max(variance - seed_part, 0.0)))


def satterthwaite(parts: list[tuple[float, float]]) -> float | None:
    """Degrees of freedom of a sum of variance estimates [(estimate, its df)] (Satterthwaite 1946)."""
    total = sum(v for v, _ in parts)
    denominator = sum(v * v / d for v, d in parts if d > 0)
    return total * total / denominator if denominator > 0 else None


def paired_variance(a: np.ndarray, b: np.ndarray) -> float:
    """Test-sampling variance of one seed's accuracy difference, both sides on the same images."""
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return float(diff.var()) / len(diff)


def unpaired_variance(a: np.ndarray, b: np.ndarray) -> float:
    """The same for sides tested on different images (independent samples)."""
    return float(np.var(np.asarray(a, np.float64))) / len(a) + float(np.var(np.asarray(b, np.float64))) / len(b)


def bound_variance(pa: float, pb: float, n: int) -> float:
    """Largest possible test-sampling variance of pa - pb on n shared images, from the accuracies alone:
    the two sides disagree on at most min(pa + pb, 2 - pa - pb) of them. It also bounds the unpaired case."""
    return max(min(pa + pb, 2.0 - pa - pb) - (pa - pb) ** 2, 0.0) / n


def bounded(per_seed: list[float], test_variances: list[float], images: int) -> SampleTest:
    """Per-seed differences plus each seed's test-sampling variance (or its bound): the seeds' test errors
    taken as fully correlated, (mean of the standard errors)^2, which holds whatever images they shared."""
    s = len(per_seed)
    mean = float(np.mean(per_seed))
    seed_var = float(np.var(per_seed, ddof=1)) / s if s > 1 else 0.0
    test_var = float(np.mean(np.sqrt(test_variances))) ** 2
    se = math.sqrt(seed_var + test_var)
    parts = [(test_var, max(images - 1, 1))] + ([(seed_var, s - 1)] if s > 1 else [])
    df = satterthwaite(parts) if s > 1 else None
    ci, p = _interval(mean, se, df, images)
    return SampleTest(mean, se, p, ci, BOUNDED, images, df, se_seeds=math.sqrt(seed_var) if s > 1 else None,
                      se_test=math.sqrt(test_var))
