"""The one look at the test set: predictions, accuracy, loss, confusion matrix, per-class precision/recall."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def test_metrics(probabilities: np.ndarray, labels: np.ndarray, num_classes: int) -> dict:
    """Metrics from predicted class probabilities (N x C) and true labels (N)."""
    predicted = probabilities.argmax(axis=1)
    classes = list(range(num_classes))
    cm = confusion_matrix(labels, predicted, labels=classes)
    precision, recall, _, _ = precision_recall_fscore_support(labels, predicted, labels=classes,
                                                              zero_division=0)
    picked = probabilities[np.arange(len(labels)), labels]
    return {
        "test_accuracy": float((predicted == labels).mean()),
        "test_loss": float(-np.log(np.clip(picked, 1e-7, 1.0)).mean()),
        "confusion_matrix": cm.astype(int).tolist(),
        "precision": [float(p) for p in precision],
        "recall": [float(r) for r in recall],
    }
