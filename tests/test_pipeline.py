"""The tf.data pipeline: [0, 255] floats at the strategy's size, augmentation on training batches only."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from engine.data.pipeline import make_dataset, resize_batch


def striped(n=8):
    x = np.zeros((n, 32, 32, 3), np.uint8)
    x[:, :, :16, 0] = 255  # left half red
    return x


def test_eval_batches_are_resized_and_keep_0_255_range():
    x, y = striped(10), np.arange(10)
    batches = list(make_dataset(x, y, batch_size=4, image_size=64, training=False))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    images = np.concatenate([b[0].numpy() for b in batches])
    assert images.shape == (10, 64, 64, 3) and images.dtype == np.float32
    assert images.max() == 255.0 and images.min() == 0.0  # not divided by 255: EfficientNet does that
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)  # order kept


def test_identity_at_native_size_without_augmentation():
    x = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    out = resize_batch(x, 32, augment=False).numpy()
    np.testing.assert_allclose(out, x.astype(np.float32), atol=1e-3)


def test_augmentation_flips_and_shifts_some_training_images():
    x = striped(64)
    out = resize_batch(x, 32, augment=True).numpy()
    left_red = out[:, 16, 2, 0] > 200
    right_red = out[:, 16, 29, 0] > 200
    assert left_red.any() and right_red.any()  # some mirrored, some not
    assert not np.allclose(out, x.astype(np.float32))


def test_training_dataset_shuffles_but_covers_every_image_once_per_epoch():
    x = np.zeros((20, 32, 32, 3), np.uint8)
    y = np.arange(20)
    ds = make_dataset(x, y, batch_size=6, image_size=32, training=True, augment=False, seed=1)
    epoch1 = np.concatenate([b[1].numpy() for b in ds])
    epoch2 = np.concatenate([b[1].numpy() for b in ds])
    assert sorted(epoch1.tolist()) == list(range(20))
    assert epoch1.tolist() != list(range(20)) and epoch1.tolist() != epoch2.tolist()


def _as_shift(out, img):
    """(dy, dx, mirrored) if `out` is `img` translated by whole pixels (reflect padding), else None."""
    padded = np.pad(img, ((4, 4), (4, 4), (0, 0)), mode="reflect")
    for dy in range(9):
        for dx in range(9):
            crop = padded[dy:dy + 32, dx:dx + 32]
            if np.array_equal(out, crop):
                return dy - 4, dx - 4, False
            if np.array_equal(out, crop[:, ::-1]):
                return dy - 4, dx - 4, True
    return None


def test_augmentation_is_an_integer_translation_and_flip_never_a_blur():
    x = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    out = resize_batch(x, 32, augment="flip+translate", seed=tf.constant([3, 4])).numpy()
    shifts = [_as_shift(o.astype(np.uint8), img) for o, img in zip(out, x, strict=True)]
    assert None not in shifts  # every image is exactly a shifted (maybe mirrored) copy: no interpolation
    assert {s[2] for s in shifts} == {True, False} and len({s[:2] for s in shifts}) > 4
    digits = resize_batch(x, 32, augment="translate", seed=tf.constant([3, 4])).numpy()
    assert all(_as_shift(o.astype(np.uint8), img)[2] is False for o, img in zip(digits, x, strict=True))


def test_same_seed_same_augmented_batches_and_a_new_draw_each_epoch():
    x = np.random.default_rng(1).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)

    def epochs(ds):
        return [np.concatenate([b[0].numpy() for b in ds]) for _ in range(2)]

    a = epochs(make_dataset(x, np.arange(40), 8, 32, training=True, augment="flip+translate", seed=7))
    b = epochs(make_dataset(x, np.arange(40), 8, 32, training=True, augment="flip+translate", seed=7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])
