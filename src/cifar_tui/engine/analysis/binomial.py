"""The sampling error of one run's test accuracy on its test set.

A test accuracy p measured on n test images is a binomial proportion: even with the model fixed, another
draw of n images from the same distribution would give a different p. Its standard error is
    SE = sqrt(p (1 - p) / n)
(e.g. 85% on CIFAR-10's 10,000 test images: 0.36 points; on 500 images: 1.6 points). It is the error of
one number on one test set. A study's spread over seeds does not include it: every seed is tested on the
same images, so that spread is training noise alone (the study's tests add this error back:
engine/analysis/paired_tests.py).
"""

from __future__ import annotations

import math


def accuracy_se(accuracy: float, n: int) -> float | None:
    """Binomial standard error of `accuracy` (a fraction in [0, 1]) on `n` test images; None without n."""
    if not n or n < 1 or not 0.0 <= accuracy <= 1.0:
        return None
    return math.sqrt(accuracy * (1.0 - accuracy) / n)


def accuracy_text(accuracy: float | None, n: int | None, compact: bool = False) -> str:
    """"85.3 ± 0.4%" (± one binomial standard error; "85.3±0.4%" when `compact`, for 80-column tables),
    "85.3%" when n is unknown, "-" without an accuracy."""
    if accuracy is None:
        return "-"
    se = accuracy_se(accuracy, n or 0)
    if se is None:
        return f"{100 * accuracy:.1f}%"
    return f"{100 * accuracy:.1f}{'±' if compact else ' ± '}{100 * se:.1f}%"
