"""The science of the transfer strategies: what is frozen stays frozen, BatchNorm stays in inference mode,
EfficientNet sees [0, 255] pixels, and local weights files load (or fail clearly)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import WeightsError
from cifar_tui.engine.models.backbone import IMAGENET_STDDEV_RGB, build_backbone, resolve_weights
from cifar_tui.engine.models.phases import estimate_bn_statistics
from cifar_tui.engine.models.scratch import build_scratch
from cifar_tui.engine.models.transfer import build_finetune, build_frozen

RANDOM = resolve_weights("none")


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A 'pretrained' backbone: a random one saved to a file and loaded back (no ImageNet offline). What
    matters here is the path: loaded weights are pretrained, so BatchNorm statistics are protected."""
    path = tmp_path_factory.mktemp("weights") / "backbone.weights.h5"
    build_backbone(32, RANDOM).save_weights(path)
    return resolve_weights(str(path))


def config(**kw) -> ExperimentConfig:
    return ExperimentConfig(transfer_image_size=32, dropout=0.0, **kw)


def batch(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)  # as the feeder's


def fit_phase(model, phase, lr=None, epochs=1):
    phase.prepare()
    model.compile(optimizer=keras.optimizers.Adam(lr or phase.learning_rate),
                  loss="sparse_categorical_crossentropy", run_eagerly=True)
    x, y = batch()
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)


def snapshot(layer_weights):
    return {w.path: np.array(w) for w in layer_weights}


def bn_stats(backbone):
    return {w.path: np.array(w) for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)
            for w in (layer.moving_mean, layer.moving_variance)}


def changed(before, after_weights):
    after = snapshot(after_weights)
    return [k for k in before if not np.array_equal(before[k], after[k])]


def test_frozen_training_leaves_every_backbone_weight_and_bn_statistic_unchanged(pretrained):
    built = build_frozen(config(), 10, pretrained)
    before = snapshot(built.backbone.weights)
    head_before = snapshot(built.model.get_layer("predictions").weights)
    fit_phase(built.model, built.phases[0], lr=1e-2)
    assert changed(before, built.backbone.weights) == []
    assert changed(head_before, built.model.get_layer("predictions").weights)  # the head did learn


def test_finetune_changes_backbone_weights_but_not_bn_moving_statistics(pretrained):
    built = build_finetune(config(head_epochs=1), 10, pretrained)
    assert [p.name for p in built.phases] == ["head", "finetune"]
    stats_before = bn_stats(built.backbone)
    kernels_before = {w.path: np.array(w) for w in built.backbone.weights if "kernel" in w.path}
    fit_phase(built.model, built.phases[1], lr=1e-3)
    assert changed(kernels_before, [w for w in built.backbone.weights if "kernel" in w.path])
    assert changed(stats_before, [w for w in built.backbone.weights if w.path in stats_before]) == []


def test_bn_train_mode_ablation_really_updates_bn_statistics(pretrained):
    built = build_finetune(config(head_epochs=1, bn_mode="train"), 10, pretrained)
    stats_before = bn_stats(built.backbone)
    fit_phase(built.model, built.phases[1], lr=1e-3)
    assert changed(stats_before, [w for w in built.backbone.weights if w.path in stats_before])


def test_unfreeze_top_blocks_only(pretrained):
    built = build_finetune(config(unfreeze_blocks=2), 10, pretrained)
    built.phases[1].prepare()
    trainable = {layer.name for layer in built.backbone.layers if layer.trainable and layer.weights}
    assert any(n.startswith("block7") for n in trainable) and any(n.startswith("block6") for n in trainable)
    assert not any(n.startswith(("block5", "block1", "stem")) for n in trainable)
    assert not any("bn" in n for n in trainable)  # BatchNorm stays frozen


def features(model):
    return keras.Model(model.inputs, model.get_layer("avg_pool").output)


@pytest.mark.parametrize("strategy", ["frozen", "finetune"])
def test_backbone_runs_in_inference_mode_whatever_flag_fit_passes(pretrained, strategy):
    """keras#20285: fit()'s training=True used to reach the backbone, whose stochastic depth then dropped
    residual branches at random: two calls on one batch gave different features."""
    builder = build_frozen if strategy == "frozen" else build_finetune
    built = builder(config(head_epochs=1, augment="none"), 10, pretrained)  # the model's own augmentation off
    built.phases[-1].prepare()  # frozen: its one phase; finetune: the unfrozen phase 2
    x, _ = batch(8)
    first = features(built.model)(x, training=True).numpy()
    second = features(built.model)(x, training=True).numpy()
    np.testing.assert_array_equal(first, second)


def test_random_init_finetune_trains_batchnorm_and_estimates_statistics_first():
    built = build_finetune(config(head_epochs=1), 10, RANDOM)
    assert built.estimate_bn and "NO pretrained weights" in built.weights_label
    x, _ = batch(64)
    before = np.abs(features(built.model)(x).numpy()).mean()
    estimate_bn_statistics(built.backbone, [x])
    after = np.abs(features(built.model)(x).numpy()).mean()
    assert before < 1e-3 < 0.05 < after  # initial statistics pass ~no signal; estimated ones do
    stats_before = bn_stats(built.backbone)
    fit_phase(built.model, built.phases[1], lr=1e-3)
    assert changed(stats_before, [w for w in built.backbone.weights if w.path in stats_before])
    assert any(isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
               for layer in built.backbone.layers)


@pytest.mark.parametrize("scaling,divisor", [("raw", 1.0), ("unit", 255.0)])
def test_efficientnet_receives_pixels_in_0_255(scaling, divisor):
    built = build_frozen(config(input_scaling=scaling), 10, RANDOM)
    x, _ = batch(4)
    through_model = features(built.model)(x, training=False).numpy()
    direct = keras.layers.GlobalAveragePooling2D()(built.backbone(x / divisor, training=False)).numpy()  # 32 px
    scale = np.abs(direct).max()  # random-init features are tiny: compare relative to their size
    assert np.abs(through_model - direct).max() <= 1e-3 * scale
    if scaling == "raw":  # and dividing first would give clearly different features
        wrong = keras.layers.GlobalAveragePooling2D()(built.backbone(x / 255.0, training=False)).numpy()
        assert np.abs(through_model - wrong).max() > 0.1 * scale


def test_weights_file_saved_by_the_test_is_loaded(tmp_path):
    source = build_backbone(32, RANDOM)
    path = tmp_path / "backbone.weights.h5"
    source.save_weights(path)
    choice = resolve_weights(str(path))
    assert choice.pretrained and str(path) in choice.label
    loaded = build_backbone(32, choice)
    for a, b in zip(source.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(np.array(a), np.array(b))


def test_imagenet_style_file_gets_keras_stddev_correction(tmp_path):
    source = build_backbone(32, RANDOM)
    norm = next(layer for layer in source.layers if layer.__class__.__name__ == "Normalization")
    norm.adapt_variance.assign(IMAGENET_STDDEV_RGB.reshape(norm.adapt_variance.shape))
    path = tmp_path / "imagenet_like.weights.h5"
    source.save_weights(path)
    loaded = build_backbone(32, resolve_weights(str(path)))
    loaded_norm = next(layer for layer in loaded.layers if layer.__class__.__name__ == "Normalization")
    np.testing.assert_allclose(np.array(loaded_norm.adapt_variance).ravel(), IMAGENET_STDDEV_RGB ** 2, rtol=1e-6)


def test_corrupt_or_foreign_weights_files_fail_clearly(tmp_path):
    corrupt = tmp_path / "corrupt.weights.h5"
    corrupt.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(WeightsError, match="is not EfficientNetB0 notop weights: it is not an HDF5 file"):
        build_backbone(32, resolve_weights(str(corrupt)))
    foreign = tmp_path / "cnn.weights.h5"
    build_scratch(config(), 10).model.save_weights(foreign)
    with pytest.raises(WeightsError, match="another architecture"):
        build_backbone(32, resolve_weights(str(foreign)))
    with pytest.raises(WeightsError, match="does not exist"):
        resolve_weights(str(tmp_path / "missing.h5"))


def test_imagenet_weights_offline_fail_clearly_or_fall_back(keras_home, monkeypatch):
    from cifar_tui.engine.runtime.download import DownloadFailed

    def offline(*args, **kwargs):
        raise DownloadFailed("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr("cifar_tui.engine.models.backbone.download", offline)
    with pytest.raises(WeightsError) as info:
        resolve_weights("imagenet")
    assert "\n" not in str(info.value) and "--weights none" in str(info.value)
    assert str(keras_home / "models" / "efficientnetb0_notop.h5") in str(info.value)
    fallback = resolve_weights("imagenet", allow_fallback=True)
    assert not fallback.pretrained and "RANDOM INIT USED INSTEAD OF IMAGENET" in fallback.notice


def test_notebook_scratch_cnn_is_the_24m_parameter_flatten_model_at_224():
    notebook = build_scratch(ExperimentConfig(scratch_model="notebook", scratch_image_size=224), 10).model
    ours = build_scratch(ExperimentConfig(), 10).model
    assert 23_000_000 < notebook.count_params() < 25_000_000  # Flatten of 54x54x64 into Dense(128)
    assert any(isinstance(layer, keras.layers.Flatten) for layer in notebook.layers)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in notebook.layers)  # its cell 2 has none
    assert ours.count_params() < 400_000
    labels = ExperimentConfig(scratch_model="notebook", scratch_image_size=224).mistakes()
    assert labels == ["the notebook's scratch CNN (Flatten into Dense(128)) at 224 px (scratch)"]


def test_notebook_head_is_dense_256_relu_without_dropout(pretrained):
    model = build_frozen(config(head_units=256), 10, pretrained).model
    dense = model.get_layer("head_dense")
    assert dense.units == 256 and dense.activation.__name__ == "relu"
