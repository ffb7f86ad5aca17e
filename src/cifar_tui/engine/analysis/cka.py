"""Debiased linear centered kernel alignment (CKA): how alike two sets of activations of the same inputs are.

Linear CKA (Kornblith, Norouzi, Lee & Hinton 2019) compares activations X (n x p) and Y (n x q) through
their n x n Gram matrices K = X X^T and L = Y Y^T:
    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) * HSIC(L, L)).
With the usual (biased) HSIC estimator, CKA on few inputs and many features is biased towards 1: on 256
images with tens of thousands of features two unrelated representations already look similar. This module
uses the unbiased HSIC estimator (Song, Smola, Gretton, Bedo & Borgwardt 2012, "Feature selection via
dependence maximization", JMLR 13), as "debiased CKA" in Nguyen, Raghu & Kornblith 2021 ("Do wide and
deep networks learn the same things?", ICLR) and Kornblith's reference code: the Gram matrices are
centred with the U-statistic centring (diagonal zeroed, row and column means taken over n - 2), then
    CKA = <K~, L~>_F / (||K~||_F * ||L~||_F).
It is 1 for identical representations, invariant to orthogonal transforms and isotropic scaling of either
side, and near 0 (it can be slightly negative) for unrelated ones at any n. It needs n >= 4 inputs.
"""

from __future__ import annotations

import numpy as np

MIN_INPUTS = 4  # the unbiased estimator divides by (n - 1)(n - 2)(n - 3)


def _gram(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return x @ x.T


def unbiased_centre(gram: np.ndarray) -> np.ndarray:
    """The U-statistic centring of an n x n Gram matrix (Song et al. 2012), as in Kornblith's
    `center_gram(gram, unbiased=True)`: <unbiased_centre(K), unbiased_centre(L)>_F = n (n - 3) HSIC_1(K, L),
    Song et al.'s unbiased estimator (checked against its closed form in tests/test_analysis.py)."""
    n = len(gram)
    gram = np.array(gram, dtype=np.float64, copy=True)
    np.fill_diagonal(gram, 0.0)
    means = gram.sum(axis=0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    gram -= means[:, None]
    gram -= means[None, :]
    np.fill_diagonal(gram, 0.0)
    return gram


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Debiased linear CKA of x (n, ...) and y (n, ...), rows being the same n inputs; features are flattened.

    Returns a float in [-1, 1] (about 0 for unrelated, 1 for identical up to rotation and scale), NaN for a
    constant representation. Raises ValueError on different row counts or fewer than 4 rows."""
    if len(x) != len(y):
        raise ValueError(f"CKA needs the same inputs on both sides ({len(x)} vs {len(y)} rows)")
    if len(x) < MIN_INPUTS:
        raise ValueError(f"debiased CKA needs at least {MIN_INPUTS} inputs, got {len(x)}")
    k, l_ = unbiased_centre(_gram(x)), unbiased_centre(_gram(y))
    cross = float(np.sum(k * l_))
    norm = float(np.sqrt(np.sum(k * k) * np.sum(l_ * l_)))
    if norm == 0.0:
        return float("nan")  # a constant representation: similarity is undefined
    return cross / norm


def biased_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """The plain (biased) estimator with ordinary centring, kept to show the bias in tests and docs."""
    def centred(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
        a = a - a.mean(axis=0, keepdims=True)
        return a @ a.T

    k, l_ = centred(x), centred(y)
    norm = float(np.sqrt(np.sum(k * k) * np.sum(l_ * l_)))
    return float(np.sum(k * l_)) / norm if norm else float("nan")
