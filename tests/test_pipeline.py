"""The feeders: uint8 batches at the native size and int32 labels; shuffled (seeded) only when training,
every image once per epoch. tf.data on TensorFlow, `ArrayFeeder` on the other backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.data.feeder import ArrayFeeder, make_feeder

ROOT = Path(__file__).resolve().parents[1]


def images(n):
    return np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def epoch(feeder):
    batches = [(np.asarray(x), np.asarray(y)) for x, y in feeder]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]), batches


@pytest.mark.parametrize("kind", ["make_feeder", "array"])
def test_batches_are_uint8_at_native_size_in_order_when_evaluating(kind):
    x, y = images(10), np.arange(10)
    feeder = make_feeder(x, y, 4, training=False) if kind == "make_feeder" else ArrayFeeder(x, y, 4, False)
    seen, labels, batches = epoch(feeder)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert seen.dtype == np.uint8 and seen.shape == (10, 32, 32, 3) and labels.dtype == np.int32
    np.testing.assert_array_equal(seen, x)  # untouched: augmentation and resize are the model's
    np.testing.assert_array_equal(labels, y)


@pytest.mark.parametrize("kind", ["make_feeder", "array"])
def test_training_shuffles_each_epoch_covers_every_image_once_and_is_seeded(kind):
    x, y = images(20), np.arange(20)

    def two_epochs(seed):
        feeder = make_feeder(x, y, 6, training=True, seed=seed) if kind == "make_feeder" \
            else ArrayFeeder(x, y, 6, True, seed)
        return [epoch(feeder)[:2] for _ in range(2)]

    (seen1, order1), (_, order2) = two_epochs(1)
    assert sorted(order1.tolist()) == list(range(20))
    np.testing.assert_array_equal(seen1, x[order1])  # images travel with their labels
    assert order1.tolist() != list(range(20)) and order1.tolist() != order2.tolist()
    again = two_epochs(1)
    assert again[0][1].tolist() == order1.tolist() and again[1][1].tolist() == order2.tolist()
    assert two_epochs(2)[0][1].tolist() != order1.tolist()


def test_the_neutral_feeder_trains_a_model_and_reshuffles_between_fit_epochs():
    import keras

    from engine.models.scratch import scratch_cnn

    x, y = images(32), np.arange(32) % 10
    feeder, orders = ArrayFeeder(x, y, 8, True, seed=3), []
    model = scratch_cnn(32, 10, 0.0, "flip+translate", seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    record = keras.callbacks.LambdaCallback(on_epoch_begin=lambda *_: orders.append(feeder.order.copy()))
    history = model.fit(feeder, validation_data=ArrayFeeder(x, y, 8, False), epochs=2, verbose=0,
                        callbacks=[record])
    assert np.isfinite(history.history["loss"]).all() and len(history.history["val_loss"]) == 2
    assert not np.array_equal(orders[0], orders[1])


@pytest.mark.skipif(subprocess.run([sys.executable, "-c", "import jax"], capture_output=True).returncode != 0,
                    reason="jax not installed")
def test_other_backends_never_import_tensorflow():
    code = ("import sys, numpy as np; from engine.data.feeder import make_feeder; "
            "f = make_feeder(np.zeros((3, 32, 32, 3), np.uint8), np.zeros(3), 2, True); "
            "print(type(f).__name__, 'tensorflow' in sys.modules, 'engine.data.pipeline' in sys.modules)")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.stdout.split() == ["ArrayFeeder", "False", "False"], out.stderr[-2000:]
