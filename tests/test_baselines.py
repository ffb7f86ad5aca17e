"""Issue #18: the scratch CNN's learning-rate schedule and the airbench94 recipe, part by part."""

from __future__ import annotations

import itertools
import math
import threading

import numpy as np
import pytest
from cifar_writers import write_python_folder

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import ConfigError
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.runner import run_experiment


def learnable(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is their colour (plus noise): learnable, and unchanged in kind by flips and shifts."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    colours = np.array([[(40 * c) % 256, (90 * c + 30) % 256, (170 * c + 60) % 256] for c in range(10)], float)
    images = colours[labels][:, None, None, :] + rng.normal(0, 40, size=(n, 32, 32, 3))
    return np.clip(images, 0, 255).astype(np.uint8), labels


@pytest.fixture
def learnable_dir(tmp_path):
    return write_python_folder(tmp_path / "cifar-10-batches-py", learnable(400, 1), learnable(100, 2))


def _values(schedule, steps: int) -> np.ndarray:
    return np.array([float(schedule(s)) for s in range(steps)])


def test_warmup_cosine_rises_then_decays_to_near_zero():
    from cifar_tui.engine.training.schedules import WarmupCosine

    lr = _values(WarmupCosine(1e-3, 100), 100)
    peak = int(np.argmax(lr))
    assert lr[0] == pytest.approx(0.2e-3) and peak == 4 and lr[peak] == pytest.approx(1e-3)  # 5% of the steps
    assert np.all(np.diff(lr[:peak + 1]) > 0) and np.all(np.diff(lr[peak:]) <= 1e-12)
    assert lr[-1] == pytest.approx(1e-5, rel=0.05)  # 1% of the peak at the last step
    assert lr[52] == pytest.approx(0.5e-3 * 1.01, rel=0.05)  # half way down the cosine: half the peak


def test_triangular_is_airbench_schedule():
    from cifar_tui.engine.training.schedules import Triangular

    lr = _values(Triangular(2.0, 100), 101)
    assert lr[0] == pytest.approx(0.4) and lr[23] == pytest.approx(2.0) and lr[100] == pytest.approx(0.14)
    assert np.all(np.diff(lr[:24]) > 0) and np.all(np.diff(lr[23:]) < 0)


def test_whitening_layer_decorrelates_its_input_patches():
    import keras

    from cifar_tui.engine.models.airbench import airbench_net, init_whitening

    rng = np.random.default_rng(0)
    # smooth images: neighbouring pixels and channels strongly correlated, as in natural images
    coarse = rng.normal(128, 60, size=(64, 8, 8, 1)) + rng.normal(0, 10, size=(64, 8, 8, 3))
    images = np.clip(np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2), 0, 255).astype(np.uint8)
    model = airbench_net(10)
    whiten = keras.Model(model.inputs, model.get_layer("whiten").output)
    def correlation(x):  # of second moments, uncentred: what the whitening is computed from
        moments = x.T @ x / len(x)
        scale = np.sqrt(np.diag(moments))
        return moments / scale[:, None] / scale[None, :]

    before = correlation(np.array(whiten(images.astype("float32")), dtype=np.float64).reshape(-1, 24)[:, :12])
    init_whitening(model, images)
    out = np.array(whiten(images.astype("float32")), dtype=np.float64).reshape(-1, 24)
    positive, negative = out[:, :12], out[:, 12:]
    assert np.abs(correlation(positive) - np.eye(12)).max() < 0.01  # decorrelated components
    assert np.abs(before - np.eye(12)).max() > 0.3  # a random init decorrelates nothing
    np.testing.assert_allclose(negative, -positive, rtol=1e-5, atol=1e-5)  # each filter and its negative


def test_dirac_init_passes_the_input_through():
    from cifar_tui.engine.models.airbench import Dirac

    kernel = np.array(Dirac()((3, 3, 4, 6)))
    for i in range(4):
        expected = np.zeros((3, 3, 4))
        expected[1, 1, i] = 1.0
        np.testing.assert_array_equal(kernel[:, :, :, i], expected)
    assert np.abs(kernel[:, :, :, 4:]).sum() > 0  # the filters beyond the inputs keep a random init


def test_tta_averages_mirrored_and_shifted_views():
    import keras

    from cifar_tui.engine.models.airbench import airbench_net
    from cifar_tui.engine.training.airbench_recipe import tta_model

    model = airbench_net(10)
    images = np.random.default_rng(1).integers(0, 256, size=(3, 32, 32, 3)).astype("float32")
    logits = keras.Model(model.inputs, model.get_layer("logits").output)

    def mirror(x):
        return 0.5 * np.array(logits(x)) + 0.5 * np.array(logits(x[:, :, ::-1, :].copy()))

    padded = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    shifted = 0.5 * (mirror(padded[:, :32, :32].copy()) + mirror(padded[:, 2:, 2:].copy()))
    combined = 0.5 * mirror(images) + 0.5 * shifted
    expected = np.exp(combined) / np.exp(combined).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.array(tta_model(model)(images)), expected, rtol=1e-4, atol=1e-6)


def test_alternating_flip_shows_each_image_both_ways_in_two_epochs():
    from cifar_tui.engine.training.airbench_recipe import train_dataset

    images, labels = learnable(20, 3)
    images[:, :, :16] = 0  # left half black: a mirrored image is told apart from the original
    labels = np.arange(20)
    ds, steps = train_dataset(images, labels, batch_size=10, seed=5, first_epoch=0, epochs=2, translate_px=0)
    seen: dict[int, list[bool]] = {i: [] for i in range(20)}
    for batch, batch_labels in itertools.islice(ds, 2 * steps):
        for image, label in zip(np.array(batch), np.array(batch_labels), strict=True):
            seen[int(label)].append(bool(np.array_equal(image, images[label, :, ::-1].astype("float32"))))
    assert all(sorted(flips) == [False, True] for flips in seen.values())
    assert 4 <= sum(flips[0] for flips in seen.values()) <= 16  # the first epoch's mirrors are random


def test_airbench_translation_is_a_whole_pixel_reflect_shift_and_an_epoch_is_reproducible():
    """numpy (any backend): each image is its original moved by |dy|, |dx| <= 2 px, reflect-padded; the same
    (seed, epoch) gives the same batches whether asked for first or after other epochs (a resumed run)."""
    from cifar_tui.engine.training.airbench_recipe import AirbenchBatches

    x = np.random.default_rng(0).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    full = AirbenchBatches(x, np.arange(24), 8, seed=3, first_epoch=0, epochs=3, flip=False)
    shifts = set()
    for batch, labels in itertools.islice(full, 3):
        for image, label in zip(batch, labels, strict=True):
            padded = np.pad(x[label], ((2, 2), (2, 2), (0, 0)), mode="reflect")
            found = [(dy, dx) for dy in range(5) for dx in range(5)
                     if np.array_equal(image, padded[dy:dy + 32, dx:dx + 32])]
            assert found, "not a whole-pixel shift"
            shifts.add(found[0])
    assert len(shifts) > 4
    resumed = AirbenchBatches(x, np.arange(24), 8, seed=3, first_epoch=2, epochs=3, flip=False)
    for a, b in zip(list(full)[6:], list(resumed), strict=True):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_schedules_and_models_are_validated():
    with pytest.raises(ConfigError, match="scratch schedule"):
        ExperimentConfig(scratch_schedule="linear").validate()
    with pytest.raises(ConfigError, match="32-px"):
        ExperimentConfig(scratch_model="airbench", scratch_image_size=64).validate()
    ExperimentConfig(scratch_model="airbench").validate()


def test_scratch_schedule_choice_reaches_the_optimizer():
    from cifar_tui.engine.models.scratch import build_scratch
    from cifar_tui.engine.training.schedules import WarmupCosine

    constant = build_scratch(ExperimentConfig(scratch_schedule="constant"), 10).recipe
    cosine = build_scratch(ExperimentConfig(), 10).recipe
    assert float(constant.optimizer(1e-3, 100, 10).learning_rate) == pytest.approx(1e-3)
    schedule = cosine.optimizer(1e-3, 100, 10)._learning_rate
    assert isinstance(schedule, WarmupCosine) and schedule.total_steps == 100
    assert "cosine" in cosine.description and "constant" in constant.description


@pytest.mark.slow
def test_scratch_cnn_schedule_is_recorded_per_epoch(learnable_dir):
    config = ExperimentConfig(strategies=("scratch",), data_dir=str(learnable_dir), weights="none",
                              scratch_epochs=3, batch_size=64, test_limit=100, checkpoints=False)
    events: list[ev.Event] = []
    run_experiment(config, events.append, threading.Event())
    rates = [e.learning_rate for e in events if isinstance(e, ev.EpochEnd)]
    assert rates[0] > rates[1] > rates[2] and rates[2] < 2e-4  # decayed towards 1% of the peak 1e-3
    started = next(e for e in events if isinstance(e, ev.StrategyStarted))
    assert "cosine" in started.recipe


@pytest.mark.slow
@pytest.mark.parametrize("model", ["airbench", "airbench_muon"])
def test_airbench_learns_and_its_test_set_is_seen_under_tta(learnable_dir, model):
    """Both recipes, 2.5 epochs of 64-image batches over 360 training images: 5 whole batches per epoch
    (the last partial one dropped), 13 steps in all; the reported loss is the data loss."""
    config = ExperimentConfig(strategies=("scratch",), scratch_model=model, airbench_batch_size=64,
                              airbench_epochs=2.5, data_dir=str(learnable_dir), weights="none", test_limit=100,
                              checkpoints=False)
    events: list[ev.Event] = []
    run_experiment(config, events.append, threading.Event())
    evaluated = next(e for e in events if isinstance(e, ev.Evaluated))
    assert evaluated.test_accuracy > 0.5  # chance is 0.1
    assert "test-time augmentation" in evaluated.evaluation
    started = next(e for e in events if isinstance(e, ev.StrategyStarted))
    name = {"airbench": "airbench94 net", "airbench_muon": "airbench94_muon net"}[model]
    assert name in started.recipe and "TTA" in started.recipe and "batch 64, 2.5 epochs" in started.recipe
    assert started.steps_per_epoch == 5 and started.epoch_budget == "2.5"
    assert sum(isinstance(e, ev.BatchEnd) for e in events) == 13
    epochs = [e for e in events if isinstance(e, ev.EpochEnd)]
    assert len(epochs) == 3 and all(0 < e.loss < math.log(10) + 0.5 for e in epochs)  # cross-entropy only


@pytest.mark.slow
def test_probe_picks_the_best_validation_c_and_beats_chance(learnable_dir):
    from cifar_tui.engine.training.probe import C_GRID

    config = ExperimentConfig(strategies=("probe",), data_dir=str(learnable_dir), weights="none",
                              transfer_image_size=32, test_limit=100, checkpoints=False)
    events: list[ev.Event] = []
    summary = run_experiment(config, events.append, threading.Event())
    epochs = [e for e in events if isinstance(e, ev.EpochEnd)]
    assert [e.epoch for e in epochs] == list(range(1, len(C_GRID) + 1))
    evaluated = next(e for e in events if isinstance(e, ev.Evaluated))
    accuracies = [e.val_accuracy for e in epochs]
    assert evaluated.best_epoch == int(np.argmax(accuracies)) + 1  # the first of the best, smallest C
    assert evaluated.best_val_accuracy == max(accuracies)
    assert evaluated.test_accuracy > 0.2  # chance is 0.1 (binomial SE 0.03 on 100 images)
    assert summary["status"] == "finished"
    assert "Kornblith" in next(e for e in events if isinstance(e, ev.StrategyStarted)).recipe


def test_each_strategys_recipe_and_tta_are_reported_with_its_result(tmp_path):
    """Issue #18 item 3: the comparison table marks a TTA result; `runs show` and the report give recipes."""
    import dataclasses

    from events_factory import run_started, strategy_events
    from typer.testing import CliRunner

    from cifar_tui.cli.main import app
    from cifar_tui.engine.report.export import _method_notes
    from cifar_tui.engine.run.state import RunState
    from cifar_tui.engine.store.recorder import RunRecorder
    from cifar_tui.render.tables import comparison_cells

    events = [run_started("20270101-000000-r-0000abcd", strategies=("scratch", "frozen"))]
    for name, recipe, evaluation in (("scratch", "airbench94 net, SGD-Nesterov", "test-time augmentation (x)"),
                                     ("frozen", "frozen EfficientNetB0, Adam", "")):
        for e in strategy_events(name, test_acc=0.5):
            if isinstance(e, ev.StrategyStarted):
                e = dataclasses.replace(e, recipe=recipe)
            if isinstance(e, ev.Evaluated):
                e = dataclasses.replace(e, evaluation=evaluation)
            events.append(e)
    events.append(ev.RunFinished(status="finished", seconds=5.0))
    state = RunState.from_events(events)
    cells = {n: comparison_cells(s.summary(), 40) for n, s in state.strategies.items()}
    assert cells["scratch"][2].endswith(" TTA") and "TTA" not in cells["frozen"][2]
    notes = " ".join(_method_notes(state))
    assert "Recipe of scratch: airbench94 net" in notes and "measured with test-time augmentation" in notes
    recorder = RunRecorder(tmp_path, "20270101-000000-r-0000abcd")
    for e in events:
        recorder(e)
    recorder.close()
    out = CliRunner().invoke(app, ["runs", "show", "20270101-000000-r-0000abcd", "--runs-dir", str(tmp_path)],
                             env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "recipe scratch: airbench94 net, SGD-Nesterov; test set: test-time augmentation (x)" in out.output
    assert "recipe frozen: frozen EfficientNetB0, Adam" in out.output


def test_airbench_follows_the_data_sets_augmentation_and_its_epochs_flag():
    """Digits declare "translate": no mirror in training or TTA; --epochs reaches airbench too."""
    from cifar_tui.cli.flags import config_from_flags
    from cifar_tui.engine.models.airbench_strategy import build_airbench

    digits = build_airbench(ExperimentConfig(scratch_model="airbench", augment="translate"), 10).recipe
    cifar = build_airbench(ExperimentConfig(scratch_model="airbench", augment="flip+translate"), 10).recipe
    assert "alternating flip" in cifar.description and "alternating flip" not in digits.description
    assert "no mirror" in digits.evaluation and "mirror +" in cifar.evaluation
    images, labels = learnable(16, 4)
    images[:, :, :16] = 0
    ds, steps = digits.train_dataset(images, np.arange(16), 8, 1, 0, 2)
    for batch, _labels in itertools.islice(ds, 2 * steps):
        for image in np.array(batch):
            assert np.abs(image[:, :14]).sum() == 0  # the black half never moves to the right: no mirror
    assert config_from_flags(preset="quick", epochs=3, scratch_model="airbench").airbench_epochs == 3
    with pytest.raises(ConfigError, match="no effect on airbench"):
        ExperimentConfig(scratch_model="airbench", scratch_schedule="constant").validate()


def test_tta_without_mirror_averages_the_unmirrored_views():
    import keras

    from cifar_tui.engine.models.airbench import airbench_net
    from cifar_tui.engine.training.airbench_recipe import tta_model

    model = airbench_net(10)
    images = np.random.default_rng(2).integers(0, 256, size=(2, 32, 32, 3)).astype("float32")
    logits = keras.Model(model.inputs, model.get_layer("logits").output)
    padded = np.pad(images, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    combined = 0.5 * np.array(logits(images)) + 0.25 * (np.array(logits(padded[:, :32, :32].copy()))
                                                         + np.array(logits(padded[:, 2:, 2:].copy())))
    expected = np.exp(combined) / np.exp(combined).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.array(tta_model(model, mirror=False)(images)), expected, rtol=1e-4, atol=1e-6)
