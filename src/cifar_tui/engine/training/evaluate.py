"""The one look at the test set: predictions, accuracy, loss, confusion matrix, per-class precision/recall;
and the accuracy Keras reports for padded evaluation batches."""

from __future__ import annotations

import keras
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


class MaskedAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Sparse categorical accuracy that counts each row with a positive sample weight once and padding
    (weight 0) not at all, whatever the weight's value: exact counts over the real images of a padded
    evaluation pass (`engine/data/feeder.py`), where the real rows weigh padded/real so that the loss is
    the mean over them. Without sample weights (training), plain accuracy. Compile it as a weighted
    metric (`weighted_metrics=[MaskedAccuracy()]`): Keras gives unweighted metrics no weights."""

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            sample_weight = keras.ops.cast(keras.ops.greater(sample_weight, 0), self.dtype)
        return super().update_state(y_true, y_pred, sample_weight)
