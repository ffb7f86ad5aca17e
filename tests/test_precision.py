"""Mixed precision (exercised on the CPU): float16 compute, float32 outputs, recorded and labelled."""

from __future__ import annotations

import math

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.runner import run_experiment
from cifar_tui.engine.runtime.allocator import keep_freed_memory
from cifar_tui.engine.runtime.environment import resolve_precision


def test_auto_precision_is_mixed_on_a_gpu_and_float32_on_a_cpu():
    assert resolve_precision("auto", has_gpu=True) == "mixed"
    assert resolve_precision("auto", has_gpu=False) == "float32"
    assert resolve_precision("mixed", has_gpu=False) == "mixed"


def test_mixed_precision_run_computes_in_float16_and_records_it(cifar_dir, monkeypatch):
    import keras

    from cifar_tui.engine.training import train_strategy as ts

    policies = []
    real_builder = ts.BUILDERS["scratch"]

    def spying_builder(config, num_classes, weights):
        built = real_builder(config, num_classes, weights)
        first_conv = next(layer for layer in built.model.layers if isinstance(layer, keras.layers.Conv2D))
        policies.append((first_conv.dtype_policy.name,
                         built.model.get_layer("predictions").dtype_policy.name))
        return built

    monkeypatch.setitem(ts.BUILDERS, "scratch", spying_builder)
    seen = []
    config = ExperimentConfig(data_dir=str(cifar_dir), strategies=("scratch",), scratch_epochs=1, batch_size=16,
                              test_limit=20, precision="mixed", run_eagerly=True)
    summary = run_experiment(config, seen.append)
    assert policies == [("mixed_float16", "float32")]
    assert keras.mixed_precision.dtype_policy().name == "float32"  # not leaked to later models
    started = next(e for e in seen if isinstance(e, ev.RunStarted))
    assert started.environment["precision"] == "mixed"
    assert started.environment["allocator"] == keep_freed_memory()  # what this process runs with
    assert any("MIXED PRECISION ON A CPU" in n for n in started.notices)
    epoch = next(e for e in seen if isinstance(e, ev.EpochEnd))
    assert math.isfinite(epoch.loss)
    assert summary["status"] == "finished"


def test_a_head_trained_on_cached_features_is_compiled_with_loss_scaling_like_the_live_model(cifar_dir,
                                                                                              monkeypatch):
    """Issue #24: the head fitted on cached features was built after the dtype policy was reset to float32,
    so under mixed precision it compiled without loss scaling, unlike the live model."""
    import keras

    fitted = []
    real_fit = keras.Model.fit

    def spy(model, *args, **kwargs):
        fitted.append((model.name, type(model.optimizer).__name__, model.dtype_policy.name))
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    for features in ("cached", "live"):
        config = ExperimentConfig(data_dir=str(cifar_dir), strategies=("frozen",), weights="none",
                                  frozen_features=features, transfer_image_size=32, frozen_epochs=1, batch_size=16,
                                  test_limit=20, precision="mixed", run_eagerly=True, checkpoints=False)
        assert run_experiment(config, lambda _e: None)["status"] == "finished"
    assert fitted == [("transfer_head", "LossScaleOptimizer", "mixed_float16"),
                      ("efficientnetb0_transfer", "LossScaleOptimizer", "mixed_float16")]
