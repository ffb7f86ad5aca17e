"""Issue #24 section 7: a short scratch run validates with the BatchNorm statistics of the weights it has."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cifar_tui.engine.config.presets import preset_config
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.runner import run_experiment


def test_precise_bn_sets_each_batchnorm_to_the_statistics_of_its_input():
    import keras

    from cifar_tui.engine.training.precise_bn import PreciseBatchNorm

    inputs = keras.Input((8, 8, 3), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, name="conv")(x)
    x = keras.layers.BatchNormalization(momentum=0.9, name="norm")(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    images = np.random.default_rng(0).integers(0, 256, (96, 8, 8, 3), dtype=np.uint8)
    callback = PreciseBatchNorm(images, batch_size=32)
    callback.set_model(model)
    callback.on_test_begin()
    features = np.array(keras.Model(model.inputs, model.get_layer("conv").output)(images)).reshape(-1, 4)
    norm = model.get_layer("norm")
    np.testing.assert_allclose(np.array(norm.moving_mean), features.mean(0), rtol=1e-4, atol=1e-5)
    # the average of three batches' variances: within a few per cent of the whole sample's
    np.testing.assert_allclose(np.array(norm.moving_variance), features.var(0), rtol=0.05)
    assert callback.estimates == 1


@pytest.mark.slow
def test_one_epoch_of_scratch_validates_above_chance(tmp_path):
    """Before the fix: validation 0.104 on digits after 1 epoch (21 steps), training accuracy 0.29: the
    moving statistics (momentum 0.9) still held much of their start and of weights long gone."""
    config = preset_config("quick", strategies=("scratch",), dataset="digits", weights="none", scratch_epochs=1,
                           checkpoints=False, test_limit=200)
    events: list[ev.Event] = []
    run_experiment(config, events.append, threading.Event())
    epoch = next(e for e in events if isinstance(e, ev.EpochEnd))
    assert epoch.val_accuracy > 0.35  # chance is 0.1 (144 validation images: SE < 0.045)
    tested = next(e for e in events if isinstance(e, ev.Evaluated))
    assert tested.test_accuracy > 0.35
    assert "precise-BN" in next(e for e in events if isinstance(e, ev.StrategyStarted)).recipe
