"""AdaBN runs through the model's own front (issue #24 section 1).

A random-init backbone's BatchNorm statistics are estimated on training images (AdaBN). They must be the
statistics of what the backbone really receives in that model: augmentation, resize and, in the
`input_scaling = "unit"` ablation, the deliberate divide-by-255. The estimate once skipped the divide, so the
statistics were fitted to [0, 255] pixels while the backbone then saw [0, 1]."""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.data.splits import PreparedData
from cifar_tui.engine.models import transfer
from cifar_tui.engine.models.backbone import resolve_weights
from cifar_tui.engine.models.preprocessing import Resize
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.training import probe

SIZE = 40  # not the native 32: the resize is part of what the backbone receives


def _data(n_train=48) -> PreparedData:
    rng = np.random.default_rng(3)

    def images(n):
        return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)

    return PreparedData("cifar10", "test", [str(i) for i in range(10)], images(n_train), np.arange(n_train) % 10,
                        images(10), np.arange(10), images(10), np.arange(10), augmentation="none")


def _spy_backbones(monkeypatch) -> list:
    built = []
    for module in (transfer, probe):
        real = getattr(module, "build_backbone", None)
        if real is None:
            continue

        def spy(size, weights, real=real):
            built.append(real(size, weights))
            return built[-1]

        monkeypatch.setattr(module, "build_backbone", spy)
    return built


def _estimated_backbone(strategy: str, config: ExperimentConfig, data: PreparedData, monkeypatch):
    """The backbone a real run has just after its BatchNorm estimate (the run is stopped right there)."""
    built = _spy_backbones(monkeypatch)
    if strategy == "probe":
        probe.feature_extractor(config, resolve_weights("none"), data.x_train)
        return built[-1]
    from cifar_tui.engine.training.train_strategy import train_strategy

    stop = threading.Event()

    def sink(event):
        if isinstance(event, ev.LogMessage) and "BatchNorm statistics" in event.message:
            stop.set()  # stop before the first epoch: the statistics are the estimate's

    assert train_strategy(strategy, config, data, resolve_weights("none"), sink, stop) == "cancelled"
    return built[-1]


def _batch_statistics(backbone, received):
    """Per BatchNorm layer: (mean, variance) of its input over the batch and positions, when the backbone is
    fed `received` (its moving statistics used upstream: equal to batch statistics after a correct estimate)."""
    norms = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    probe_model = keras.Model(backbone.inputs, [layer.input for layer in norms])
    inputs = [np.asarray(keras.ops.convert_to_numpy(t), np.float64) for t in probe_model(received, training=False)]
    return norms, [(x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))) for x in inputs]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["frozen", "finetune", "probe"])
@pytest.mark.parametrize("scaling", ["raw", "unit"])
def test_adabn_statistics_are_those_of_what_the_backbone_receives(strategy, scaling, monkeypatch):
    keras.utils.set_random_seed(0)
    data = _data()
    config = ExperimentConfig(strategies=(strategy,), weights="none", augment="none", transfer_image_size=SIZE,
                              input_scaling=scaling, batch_size=16, frozen_epochs=1, head_epochs=1,
                              finetune_epochs=1, finetune_analysis=False, checkpoints=False, run_eagerly=True)
    backbone = _estimated_backbone(strategy, config, data, monkeypatch)
    # every training image is in the estimate (fewer than BN_ESTIMATE_IMAGES): statistics do not depend on order
    received = keras.ops.convert_to_numpy(Resize(SIZE)(data.x_train)) / (255.0 if scaling == "unit" else 1.0)
    norms, expected = _batch_statistics(backbone, received)
    for layer, (mean, variance) in zip(norms, expected, strict=True):
        moving_mean = np.asarray(keras.ops.convert_to_numpy(layer.moving_mean), np.float64)
        moving_variance = np.asarray(keras.ops.convert_to_numpy(layer.moving_variance), np.float64)
        scale = np.sqrt(variance.max())  # the spread of the layer's input: what a difference in mean is measured in
        np.testing.assert_allclose(moving_mean, mean, rtol=2e-2, atol=1e-3 * scale + 1e-12,
                                   err_msg=f"{layer.name} moving mean")
        np.testing.assert_allclose(moving_variance, variance, rtol=2e-2, atol=1e-3 * variance.max() + 1e-12,
                                   err_msg=f"{layer.name} moving variance")


def test_the_probes_random_backbone_is_drawn_from_the_runs_seed():
    """The probe ran first thing in its strategy, before any seeding: its random init (and so its random
    features) depended on the strategies trained before it in the same process."""
    config = ExperimentConfig(strategies=("probe",), weights="none", transfer_image_size=32, seed=7)
    x = _data(16).x_train
    weights = []
    for noise in (1, 2):  # whatever the global random state before it
        keras.utils.set_random_seed(noise)
        weights.append(probe.feature_extractor(config, resolve_weights("none"), x).get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
