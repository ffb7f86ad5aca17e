"""The model-side preprocessing (engine/models/preprocessing.py): exact whole-pixel translation and flip in
training only, a bilinear resize to [0, 255] float32 always, reproducible from the seed."""

from __future__ import annotations

import keras
import numpy as np

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.models.preprocessing import AUGMENT_LAYER, RESIZE_LAYER, Augment, Resize, backbone_input
from cifar_tui.engine.models.scratch import build_scratch


def random_images(n=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def as_shift(out, img, pad=4):
    """(dy, dx, mirrored) if `out` is `img` translated by whole pixels (reflect padding), else None."""
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            crop = padded[dy:dy + 32, dx:dx + 32]
            if np.array_equal(out, crop):
                return dy - pad, dx - pad, False
            if np.array_equal(out, crop[:, ::-1]):
                return dy - pad, dx - pad, True
    return None


def test_translation_is_whole_pixel_and_exact_and_flip_mirrors_about_half():
    x = random_images(32)
    out = keras.ops.convert_to_numpy(Augment(shift=4, flip=True, seed=3)(x, training=True))
    assert out.dtype == np.uint8 and out.shape == x.shape
    shifts = [as_shift(o, img) for o, img in zip(out, x, strict=True)]
    assert None not in shifts  # every image is exactly a shifted (maybe mirrored) copy: no interpolation
    assert {s[2] for s in shifts} == {True, False} and len({s[:2] for s in shifts}) > 4
    assert max(max(abs(s[0]), abs(s[1])) for s in shifts) <= 4
    digits = keras.ops.convert_to_numpy(Augment(shift=4, flip=False, seed=3)(x, training=True))
    assert all(as_shift(o, img)[2] is False for o, img in zip(digits, x, strict=True))


def test_augmentation_is_the_identity_at_inference():
    x = random_images(8)
    layer = Augment(seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)


def test_same_seed_same_draws_and_a_new_draw_each_call():
    x = random_images(16)
    a, b = Augment(seed=7), Augment(seed=7)
    first = [keras.ops.convert_to_numpy(layer(x, training=True)) for layer in (a, b)]
    np.testing.assert_array_equal(first[0], first[1])
    second = keras.ops.convert_to_numpy(a(x, training=True))
    assert not np.array_equal(first[0], second)  # the next batch gets new draws
    other = keras.ops.convert_to_numpy(Augment(seed=8)(x, training=True))
    assert not np.array_equal(first[0], other)


def test_resize_gives_float32_0_255_at_the_strategys_size_and_is_exact_at_native_size():
    x = np.zeros((3, 32, 32, 3), np.uint8)
    x[:, :, :16, 0] = 255  # left half red
    out = keras.ops.convert_to_numpy(Resize(64)(x))
    assert out.shape == (3, 64, 64, 3) and out.dtype == np.float32
    assert out.max() == 255.0 and out.min() == 0.0  # not divided by 255: EfficientNet does that itself
    assert out[0, 10, 5, 0] == 255.0 and out[0, 10, 60, 0] == 0.0
    native = random_images(4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(Resize(32)(native)), native.astype(np.float32))


def test_models_take_uint8_32px_and_augment_only_in_training():
    config = ExperimentConfig(strategies=("scratch",), scratch_image_size=48, augment="flip+translate", seed=5)
    model = build_scratch(config, 10).model
    assert model.inputs[0].dtype == "uint8" and tuple(model.inputs[0].shape[1:]) == (32, 32, 3)
    names = [layer.name for layer in model.layers]
    assert names.index(AUGMENT_LAYER) < names.index(RESIZE_LAYER)
    none = build_scratch(config.replace(augment="none"), 10).model
    assert AUGMENT_LAYER not in [layer.name for layer in none.layers]


def test_the_backbone_receives_the_models_own_front():
    """`backbone_input` is the model's own layers up to its backbone: augmentation only in training, the
    resize, and the ablation's divide-by-255 (issue #24: AdaBN once skipped the divide)."""
    from cifar_tui.engine.models.backbone import resolve_weights
    from cifar_tui.engine.models.transfer import build_frozen

    config = ExperimentConfig(transfer_image_size=48, augment="flip+translate", seed=5, input_scaling="unit")
    model = build_frozen(config, 10, resolve_weights("none")).model
    x = random_images(8)
    seen = keras.ops.convert_to_numpy(backbone_input(model, x))
    np.testing.assert_allclose(seen, keras.ops.convert_to_numpy(Resize(48)(x)) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(seen, keras.ops.convert_to_numpy(backbone_input(model, x)))  # inference: fixed
    trained = keras.ops.convert_to_numpy(backbone_input(model, x, training=True))
    assert trained.shape == (8, 48, 48, 3) and trained.max() <= 1.0 and not np.array_equal(trained, seen)
