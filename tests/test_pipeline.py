"""The feeders: uint8 batches at the native size and int32 labels; shuffled (seeded) only when training;
one batch shape (training drops the partial batch, evaluation pads it, weighted 0), every evaluated image
counted once. tf.data on TensorFlow, `ArrayFeeder` on the other backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cifar_tui.engine.data.feeder import ArrayFeeder, make_feeder

ROOT = Path(__file__).resolve().parents[1]


def images(n):
    return np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def epoch(feeder):
    batches = [tuple(np.asarray(part) for part in batch) for batch in feeder]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]), batches


def feeder_of(kind, x, y, batch_size, training, seed=0):
    return make_feeder(x, y, batch_size, training=training, seed=seed) if kind == "make_feeder" \
        else ArrayFeeder(x, y, batch_size, training, seed)


@pytest.mark.parametrize("kind", ["make_feeder", "array"])
def test_evaluation_batches_are_whole_in_order_and_the_padding_weighs_nothing(kind):
    """Issue #27: a partial last batch is a second shape to compile; it is padded (copies of the last
    image) and the padding weighs 0, so every image counts once."""
    x, y = images(10), np.arange(10)
    seen, labels, batches = epoch(feeder_of(kind, x, y, 4, training=False))
    assert [len(b[0]) for b in batches] == [4, 4, 4]
    assert seen.dtype == np.uint8 and seen.shape == (12, 32, 32, 3) and labels.dtype == np.int32
    np.testing.assert_array_equal(seen[:10], x)  # untouched: augmentation and resize are the model's
    np.testing.assert_array_equal(seen[10:], x[[9, 9]])
    np.testing.assert_array_equal(labels, [*range(10), 9, 9])
    weights = np.concatenate([b[2] for b in batches])
    assert weights.dtype == np.float32 and weights[10:].tolist() == [0, 0]
    np.testing.assert_allclose(weights[:10], 12 / 10)  # padded rows / real rows (the loss's mean: see feeder)


@pytest.mark.parametrize("kind", ["make_feeder", "array"])
def test_training_keeps_whole_batches_reshuffles_each_epoch_and_is_seeded(kind):
    x, y = images(20), np.arange(20)

    def epochs(seed, count=2):
        feeder = feeder_of(kind, x, y, 6, training=True, seed=seed)
        return [epoch(feeder) for _ in range(count)]

    (seen1, order1, batches), (_, order2, _) = epochs(1)
    assert [len(b[0]) for b in batches] == [6, 6, 6]  # 20 % 6 = 2 dropped: one batch shape
    assert len(set(order1.tolist())) == 18  # no image twice in an epoch
    np.testing.assert_array_equal(seen1, x[order1])  # images travel with their labels
    assert order1.tolist() != list(range(18)) and order1.tolist() != order2.tolist()
    again = epochs(1)
    assert again[0][1].tolist() == order1.tolist() and again[1][1].tolist() == order2.tolist()
    assert epochs(2)[0][1].tolist() != order1.tolist()
    # the dropped images differ from epoch to epoch: every image is seen over a few epochs
    assert set(np.concatenate([e[1] for e in epochs(1, count=6)]).tolist()) == set(range(20))
    assert [len(b[0]) for b in epoch(feeder_of(kind, x[:5], y[:5], 6, training=True))[2]] == [5]  # < 1 batch


@pytest.mark.parametrize("kind", ["make_feeder", "array"])
def test_padded_evaluation_reports_what_one_unpadded_pass_does(kind):
    """Loss (its regularisation term too) and accuracy over a padded feeder are those of the 10 real images
    in one batch; predict_rows returns one row per image."""
    import keras

    from cifar_tui.engine.data.feeder import predict_rows
    from cifar_tui.engine.training.evaluate import MaskedAccuracy

    x, y = images(10), np.arange(10) % 3
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.5),
                                                 kernel_initializer=keras.initializers.RandomNormal(seed=1))])
    model.compile("adam", "sparse_categorical_crossentropy", weighted_metrics=[MaskedAccuracy()])
    whole = model.evaluate(x.astype(np.float32), y, batch_size=10, verbose=0, return_dict=True)
    padded = model.evaluate(feeder_of(kind, x, y, 4, training=False), verbose=0, return_dict=True)
    assert padded["accuracy"] == whole["accuracy"] and 0 < whole["accuracy"] < 1
    assert padded["loss"] == pytest.approx(whole["loss"], rel=1e-6)
    rows = predict_rows(model, x, 4)
    assert rows.shape == (10, 3)
    np.testing.assert_allclose(rows, model.predict(x.astype(np.float32), batch_size=10, verbose=0), rtol=1e-6)


def test_tf_data_batches_have_a_static_shape():
    """A static batch dimension: one trace (and one XLA program under jit_compile) per fit on TensorFlow."""
    x, y = images(10), np.arange(10)
    assert make_feeder(x, y, 4, training=True).element_spec[0].shape.as_list() == [4, 32, 32, 3]
    spec = make_feeder(x, y, 4, training=False).element_spec
    assert [part.shape.as_list()[0] for part in spec] == [4, 4, 4]


def test_the_neutral_feeder_trains_a_model_and_reshuffles_between_fit_epochs():
    import keras

    from cifar_tui.engine.models.scratch import scratch_cnn

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
    code = ("import sys, numpy as np; from cifar_tui.engine.data.feeder import make_feeder; "
            "f = make_feeder(np.zeros((3, 32, 32, 3), np.uint8), np.zeros(3), 2, True); "
            "print(type(f).__name__, 'tensorflow' in sys.modules, 'cifar_tui.engine.data.pipeline' in sys.modules)")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.stdout.split() == ["ArrayFeeder", "False", "False"], out.stderr[-2000:]
