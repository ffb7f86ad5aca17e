"""Linear centered kernel alignment (CKA; Kornblith et al., 2019): how alike two sets of activations are.

For activations X (n x p) and Y (n x q) of the same n inputs, centred per feature,
    CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F * ||Y^T Y||_F)
It is 1 for identical representations, invariant to orthogonal transforms and isotropic scaling of either
side, and near 0 for unrelated ones (it is biased upward for small n relative to p; compare values
computed with the same n). Computed through the n x n Gram matrices, which is cheap when p >> n.
"""

from __future__ import annotations

import numpy as np


def _centred_gram(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    x = x - x.mean(axis=0, keepdims=True)
    return x @ x.T


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) != len(y):
        raise ValueError(f"CKA needs the same inputs on both sides ({len(x)} vs {len(y)} rows)")
    k, l_ = _centred_gram(x), _centred_gram(y)
    # ||Y^T X||_F^2 = <K, L>_F for centred X, Y; likewise for the norms.
    cross = float(np.sum(k * l_))
    norm = float(np.sqrt(np.sum(k * k) * np.sum(l_ * l_)))
    if norm == 0.0:
        return float("nan")  # a constant representation: similarity is undefined
    return cross / norm
