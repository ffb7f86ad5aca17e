"""The `probe` strategy: fixed ImageNet features measured with the published linear-probe protocol.

Kornblith, Shlens & Le, "Do Better ImageNet Models Transfer Better?" (CVPR 2019), Section 3: an
L2-regularised multinomial logistic regression (L-BFGS) on the frozen network's penultimate (pooled)
features, its regularisation strength chosen on a validation split, then one evaluation on the test set.
Unlike `frozen` (a softmax head trained with Adam, dropout and augmentation for a few epochs), nothing here
depends on a training schedule, so it says how good the features themselves are.

Each point of the regularisation grid is reported as one "epoch" (EpochEnd, validation accuracy), so
curves, tables, exports and studies treat the probe like the other strategies. It is not checkpointed: a
resumed run repeats it (its cost is one feature extraction).

Shapes: images (N, 32, 32, 3) uint8 -> resized to the transfer size -> pooled features (N, 1280) float32.
"""

from __future__ import annotations

import math
import threading
import time

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from cifar_tui.engine.analysis.predictions import prediction_arrays
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.data.splits import PreparedData
from cifar_tui.engine.models.backbone import WeightsChoice
from cifar_tui.engine.models.phases import estimate_random_init_statistics
from cifar_tui.engine.models.preprocessing import BACKBONE_CALL
from cifar_tui.engine.models.transfer import transfer_model
from cifar_tui.engine.run.events import (
    EpochEnd,
    Evaluated,
    LogMessage,
    PhaseStarted,
    Sink,
    StrategyFinished,
    StrategyStarted,
    TestPredictions,
)
from cifar_tui.engine.training.evaluate import test_metrics

# C = 1 / (L2 strength x N): 9 log-spaced values, from strong to weak regularisation (Kornblith et al.
# search 45 values over 1e-6..1e5; 9 cover the useful range of standardised features at a fraction of the cost)
C_GRID = tuple(float(c) for c in np.logspace(-4, 4, 9))
MAX_ITER = 1000


def feature_extractor(config: ExperimentConfig, weights: WeightsChoice, x_train: np.ndarray,
                      num_classes: int = 10) -> keras.Model:
    """uint8 32-px pixels -> pooled backbone features (B, 1280): the `frozen` strategy's own model, built
    unaugmented and without stochastic depth, up to its pooling. So the probe's backbone receives exactly
    what `frozen`'s does at inference: the same resize, [0, 255] (or /255, the ablation), inference mode.

    With no pretrained weights the backbone's BatchNorm statistics are first estimated on training images
    (AdaBN) through that model's front, on unaugmented images (the probe's features are of unaugmented
    images): at their initial values they pass almost no signal (issue #12)."""
    from cifar_tui.engine.runtime.backend import set_random_seed
    from cifar_tui.engine.training.feature_cache import pooled_extractor

    set_random_seed(config.seed)  # a random init drawn from the run's seed, as frozen's: not from what ran before
    model, backbone, _call = transfer_model(config.replace(augment="none", stochastic_depth=False), num_classes,
                                            weights)
    if not weights.pretrained:
        estimate_random_init_statistics(model, backbone, x_train, config.seed, augmented=False)
    return pooled_extractor(model)


def _features(model: keras.Model, x: np.ndarray, config: ExperimentConfig) -> np.ndarray:
    from cifar_tui.engine.training.feature_cache import extract  # full batches only: one trace for every call

    return np.asarray(extract(model, x, config.batch_size), dtype=np.float64)


def train_probe(config: ExperimentConfig, data: PreparedData, weights: WeightsChoice, sink: Sink,
                stop_event: threading.Event, cache=None) -> str:
    """Extract features, fit one logistic regression per C, keep the best on validation, test it once.

    With `cache` (a `FeatureCache`, `frozen_features="cached"`), features come from it and new ones go
    into it. Returns "finished" or "cancelled" (checked between grid points)."""
    started = time.perf_counter()
    num_classes = len(data.class_names)
    extractor = feature_extractor(config, weights, data.x_train, num_classes)
    head_params = (extractor.output_shape[-1] + 1) * num_classes
    recipe = (f"logistic regression (L-BFGS) on standardised pooled features of unaugmented images at "
              f"{config.transfer_image_size} px, {'cached' if cache is not None else 'extracted live'}, L2 chosen "
              f"on validation from {len(C_GRID)} values (Kornblith et al. 2019)")
    sink(StrategyStarted(
        strategy="probe", image_size=config.transfer_image_size, epochs=len(C_GRID), steps_per_epoch=1,
        total_params=extractor.count_params() + head_params, weights=weights.label, recipe=recipe))
    sink(PhaseStarted(strategy="probe", phase="train", first_epoch=1, epochs=len(C_GRID),
                      learning_rate=math.nan, trainable_params=head_params, recipe=recipe))

    def cancelled() -> str:
        sink(StrategyFinished(strategy="probe", status="cancelled", seconds=time.perf_counter() - started,
                              trainable_params=head_params, total_params=extractor.count_params() + head_params))
        return "cancelled"

    extracting = time.perf_counter()
    features = _cached_features(extractor, config, cache, sink) if cache is not None else \
        (lambda x: _features(extractor, x, config))
    train, val = features(data.x_train), features(data.x_val)
    sink(LogMessage(level="info", message=f"probe: features of {len(train) + len(val):,} images in "
                                          f"{time.perf_counter() - extracting:.1f} s"))
    scaler = StandardScaler().fit(train)  # statistics of the training split only
    train, val = scaler.transform(train), scaler.transform(val)
    best: tuple[float, int, LogisticRegression] | None = None
    classes = np.arange(num_classes)
    for index, c in enumerate(C_GRID, start=1):
        if stop_event.is_set():
            return cancelled()
        fit_start = time.perf_counter()
        # One BLAS thread: OpenBLAS threads that spin-wait slow L-BFGS 10-20x (measured) when another
        # process shares the cores (two study cells, two test workers); alone it costs little.
        with threadpool_limits(1):
            model = LogisticRegression(C=c, max_iter=MAX_ITER).fit(train, data.y_train)
        train_p, val_p = _full(model, train, num_classes), _full(model, val, num_classes)
        val_accuracy = float((val_p.argmax(1) == data.y_val).mean())
        seconds = time.perf_counter() - fit_start
        sink(EpochEnd(strategy="probe", phase="train", epoch=index, epochs=len(C_GRID),
                      loss=float(log_loss(data.y_train, train_p, labels=classes)),
                      accuracy=float((train_p.argmax(1) == data.y_train).mean()),
                      val_loss=float(log_loss(data.y_val, val_p, labels=classes)), val_accuracy=val_accuracy,
                      learning_rate=math.nan, seconds=seconds, images_per_s=len(train) / max(seconds, 1e-9)))
        sink(LogMessage(level="info", message=f"probe: C={c:g} validation accuracy {val_accuracy:.4f}"))
        if best is None or val_accuracy > best[0]:  # ties keep the stronger regularisation (smaller C)
            best = (val_accuracy, index, model)
    if stop_event.is_set():
        return cancelled()

    # Model selection happened on the validation split; now, and only now, the test set.
    val_accuracy, index, model = best
    test = scaler.transform(features(data.x_test))
    probabilities = _full(model, test, num_classes)
    metrics = test_metrics(probabilities, data.y_test, num_classes)
    sink(Evaluated(strategy="probe", best_epoch=index, best_val_accuracy=val_accuracy,
                   class_names=list(data.class_names), **metrics))
    arrays = prediction_arrays(probabilities, data.y_test, data.x_test)  # the galleries' images (issue #15)
    sink(TestPredictions(strategy="probe", count=len(data.y_test), stored_images=len(arrays["image_index"]),
                         arrays=arrays))
    sink(LogMessage(level="info", message=f"probe: chose C={C_GRID[index - 1]:g} on validation"))
    sink(StrategyFinished(strategy="probe", status="finished", seconds=time.perf_counter() - started,
                          trainable_params=head_params, total_params=extractor.count_params() + head_params))
    return "finished"


def _cached_features(extractor: keras.Model, config: ExperimentConfig, cache, sink: Sink):
    """x -> (N, D) float64 features through the cache (keyed by the extractor's backbone weights)."""
    from cifar_tui.engine.training.feature_cache import weights_digest

    digest = weights_digest(_backbone(extractor))
    return lambda x: np.asarray(cache.features(
        extractor, digest, x, image_size=config.transfer_image_size, input_scaling=config.input_scaling,
        precision="float32", mirrored=False, batch_size=config.batch_size, label="probe"), dtype=np.float64)


def _backbone(extractor: keras.Model):
    return extractor.get_layer(BACKBONE_CALL).backbone


def _full(model: LogisticRegression, features: np.ndarray, num_classes: int) -> np.ndarray:
    """Class probabilities (N, num_classes), zero for classes absent from the training labels."""
    out = np.zeros((len(features), num_classes))
    out[:, model.classes_] = model.predict_proba(features)
    return out
