"""Issue #24 section 2: airbench94 and airbench94_muon as the reference code has them (KellerJordan/
cifar10-airbench, `legacy/airbench94.py`, `airbench94_muon.py`), part by part, without training a network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cifar_tui.engine.config.config import ExperimentConfig


def test_the_batch_never_exceeds_the_training_set_and_the_rate_follows_the_batch_used():
    """Before: 1,024 images per step at 10 images per class (every batch = all 100 images) with the rate of a
    1,024 batch (peak 1.5): each example's step 10x the reference's."""
    from cifar_tui.engine.models.airbench_strategy import build_airbench, resolve
    from cifar_tui.engine.training.airbench_recipe import learning_rate

    few = resolve(ExperimentConfig(scratch_model="airbench"), n_train=100)
    assert few.airbench_batch_size == 100 and few.airbench_epochs == pytest.approx(9.9)
    built = build_airbench(few, 10)
    assert built.phases[0].learning_rate == pytest.approx(0.1465, abs=1e-4)  # 11.5 / 7.667 / 1024 x 100
    assert built.recipe.batch_size == 100 and "batch 100" in built.recipe.description
    full = build_airbench(resolve(ExperimentConfig(scratch_model="airbench"), n_train=45_000), 10)
    assert full.recipe.batch_size == 1024 and full.phases[0].learning_rate == pytest.approx(learning_rate(1024))
    assert full.phases[0].learning_rate / built.phases[0].learning_rate == pytest.approx(10.24)  # per example: equal
    muon = resolve(ExperimentConfig(scratch_model="airbench_muon"), n_train=45_000, replicas=2)
    assert muon.airbench_batch_size == 2000 and muon.airbench_epochs == 8
    asked = ExperimentConfig(scratch_model="airbench_muon", airbench_batch_size=500)
    assert resolve(asked, 300).airbench_batch_size == 300


def test_the_loss_carries_no_weight_penalty():
    """Before: L2 penalties (kernel regularisers, add_loss) were part of the reported loss (millions on
    grayscale data); the decay is now the optimiser's, as in the reference."""
    from cifar_tui.engine.models.airbench import airbench_net

    for options in ({}, {"variant": "airbench_muon"}):
        model = airbench_net(10, **options)
        model(np.zeros((2, 32, 32, 3), np.uint8))
        assert model.losses == []


def _torch_sgd(p, grads, lr, momentum, decay, active_steps=None):
    """torch.optim.SGD(nesterov=True, weight_decay=decay), written out in numpy."""
    p, buf = p.copy(), np.zeros_like(p)
    for step, g in enumerate(grads):
        if active_steps is not None and step >= active_steps:
            continue
        g = g + decay * p
        buf = momentum * buf + g
        p = p - lr(step) * (g + momentum * buf)
    return p


def _apply(optimizer, variables, grads_per_step):
    import keras

    for grads in grads_per_step:
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
    return [np.array(v) for v in variables]


def test_grouped_sgd_is_torchs_sgd_per_group():
    import keras

    from cifar_tui.engine.training.airbench_optimizer import Group, GroupedSGD
    from cifar_tui.engine.training.schedules import Triangular

    rng = np.random.default_rng(0)
    start = [rng.normal(size=(3,)).astype("float32") for _ in range(3)]
    variables = [keras.Variable(s, name=n) for s, n in zip(start, ("beta", "bias", "kernel"), strict=True)]
    grads = [[rng.normal(size=(3,)).astype("float32") for _ in range(3)] for _ in range(6)]
    schedule = Triangular(0.1, 6)
    optimizer = GroupedSGD(schedule, [Group("beta", Triangular(6.4, 6), 0.02 / 64), Group("bias", schedule, 0.02, 2),
                                      Group(".", schedule, 0.02)], momentum=0.85)
    got = _apply(optimizer, variables, grads)
    rates = [lambda s: float(Triangular(6.4, 6)(s)), lambda s: float(schedule(s)), lambda s: float(schedule(s))]
    for i, (decay, active) in enumerate(((0.02 / 64, None), (0.02, 2), (0.02, None))):
        expected = _torch_sgd(start[i], [g[i] for g in grads], rates[i], 0.85, decay, active)
        np.testing.assert_allclose(got[i], expected, rtol=1e-5, atol=1e-6)


def _newton_schulz(g, steps=3):
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g / (np.linalg.norm(g) + 1e-7)
    transposed = x.shape[0] > x.shape[1]
    x = x.T if transposed else x
    for _ in range(steps):
        m = x @ x.T
        x = a * x + (b * m + c * m @ m) @ x
    return x.T if transposed else x


def test_muon_filter_step_is_the_references():
    """Per step: the kernel renormalised to sqrt(out channels), momentum 0.6 (Nesterov), the step
    orthogonalised by 3 Newton-Schulz iterations of the (out, in x kh x kw) matrix."""
    import keras

    from cifar_tui.engine.training.airbench_optimizer import Group, MuonWithSGD

    rng = np.random.default_rng(1)
    start = rng.normal(size=(3, 3, 4, 8)).astype("float32")
    grads = [[rng.normal(size=start.shape).astype("float32")] for _ in range(3)]
    variable = keras.Variable(start, name="kernel")
    optimizer = MuonWithSGD(0.0, [Group("kernel", 0.24, muon=True)], sgd_momentum=0.85)
    (got,) = _apply(optimizer, [variable], grads)
    p, buf = start.transpose(3, 2, 0, 1).astype("float64"), np.zeros((8, 4, 3, 3))  # torch's (out, in, kh, kw)
    for (g,) in grads:
        g = g.transpose(3, 2, 0, 1)
        p = p * math.sqrt(8) / np.linalg.norm(p)
        buf = 0.6 * buf + g
        p = p - 0.24 * _newton_schulz((g + 0.6 * buf).reshape(8, -1)).reshape(p.shape)
    np.testing.assert_allclose(got, p.transpose(2, 3, 1, 0), rtol=2e-3, atol=2e-4)


def test_initialisation_is_torchs_default():
    """Before: Glorot uniform for the head and the non-identity conv filters (initial logits ~2.4x larger)."""
    from cifar_tui.engine.models.airbench import airbench_net

    model = airbench_net(10)
    head = np.array(model.get_layer("head").kernel)
    assert np.abs(head).max() <= 1 / 16 and head.std() == pytest.approx(1 / 16 / math.sqrt(3), rel=0.1)
    conv = np.array(model.get_layer("block2_conv1").kernel)[:, :, :, 64:]  # beyond the identity filters
    bound = 1 / math.sqrt(9 * 64)
    assert np.abs(conv).max() <= bound and conv.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert not np.array(model.get_layer("whiten_bias").bias).any()
    muon = airbench_net(10, variant="airbench_muon")
    assert np.array(muon.get_layer("head").kernel).std(ddof=1) == pytest.approx(1.0, rel=1e-4)
    bias = np.array(muon.get_layer("whiten_bias").bias)
    assert bias.any() and np.abs(bias).max() <= 1 / math.sqrt(12)


def test_batches_drop_the_last_partial_one():
    from cifar_tui.engine.training.airbench_recipe import AirbenchBatches

    x = np.zeros((25, 32, 32, 3), np.uint8)
    batches = AirbenchBatches(x, np.arange(25) % 10, 8, seed=0, first_epoch=0, epochs=2)
    assert batches.steps == 3 and len(batches) == 6 and all(len(batches[i][0]) == 8 for i in range(6))


def _tiny_fit(callbacks, epochs=2, steps=3):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((steps * 4, 4), "float32"), np.zeros((steps * 4, 2), "float32")
    seen = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    model.fit(x, y, batch_size=4, epochs=epochs, validation_data=(x, y), callbacks=[*callbacks, counter], verbose=0)
    return model, seen


def test_a_fractional_last_epoch_ends_inside_it():
    from cifar_tui.engine.training.callbacks import EndInsideLastEpoch

    _model, seen = _tiny_fit([EndInsideLastEpoch(last_epoch=1, batches=2)])
    assert seen == [0, 1, 2, 0, 1]


def test_lookahead_ends_on_the_average_before_the_last_validation():
    """Even when the optimizer counted fewer steps than the schedule's total (a skipped loss-scaled step)."""
    from cifar_tui.engine.training.airbench_recipe import Lookahead

    lookahead = Lookahead(total_steps=100)
    model, _seen = _tiny_fit([lookahead])
    for average, variable in zip(lookahead.average, model.trainable_weights, strict=True):
        np.testing.assert_array_equal(average, np.array(variable))
    assert lookahead.snapped


def test_the_airbench_reference_line_says_where_its_protocol_differs():
    from cifar_tui.engine.study.references import PUBLISHED, legend

    airbench = next(r for r in PUBLISHED if "airbench" in r.label)
    assert "50,000" in legend(airbench) and "45,000" in legend(airbench) and "50k" in airbench.short
