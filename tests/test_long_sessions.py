"""Long sessions: one resume is counted once, every finished model is released (data and training are
stand-ins)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from events_factory import run_started, strategy_events

from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.session import resume_and_run
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.recorder import RunRecorder

RUN_ID = "20270115-080000-demo-abcd"


def record_cancelled_run(runs):
    recorder = RunRecorder(runs, RUN_ID)
    for event in [run_started(RUN_ID, strategies=("scratch",)), strategy_events("scratch")[0],
                  ev.StrategyFinished(strategy="scratch", status="cancelled", seconds=1.0, trainable_params=100,
                                      total_params=1000),
                  ev.RunFinished(status="cancelled", seconds=1.0)]:
        recorder(event)
    recorder.close()


def test_one_resume_is_counted_once_in_the_summary_and_the_log(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    record_cancelled_run(runs)
    data = SimpleNamespace(notices=[], describe=dict, augmentation="flip+translate")
    monkeypatch.setattr("cifar_tui.engine.run.runner.check_inputs", lambda config, report=None: None)
    monkeypatch.setattr("cifar_tui.engine.run.runner._prepare",
                        lambda config, report=None: (data, {"precision": "float32", "device": "CPU"}, None))

    def train(name, config, data, weights, emit, *args):
        for event in strategy_events(name):
            emit(event)

    monkeypatch.setattr("cifar_tui.engine.training.train_strategy.train_strategy", train)
    outcome = resume_and_run(runs, RUN_ID, redirect_native_log=False)
    stored = json.loads((runs / RUN_ID / paths.SUMMARY_FILE).read_text())
    assert stored["resumes"] == 1 and outcome.summary["resumes"] == 1
    assert stored["status"] == "finished"


def test_each_finished_strategy_releases_its_model(tmp_path, monkeypatch):
    """A long process (a study's cells, an app session's runs) frees every model once its strategy is done."""
    runs = tmp_path / "runs"
    record_cancelled_run(runs)
    data = SimpleNamespace(notices=[], describe=dict, augmentation="flip+translate")
    monkeypatch.setattr("cifar_tui.engine.run.runner.check_inputs", lambda config, report=None: None)
    monkeypatch.setattr("cifar_tui.engine.run.runner._prepare",
                        lambda config, report=None: (data, {"precision": "float32", "device": "CPU"}, None))
    released = []
    monkeypatch.setattr("cifar_tui.engine.run.runner.release_models", lambda: released.append(len(released)))

    def train(name, config, data, weights, emit, *args):
        raise RuntimeError("a bug in one strategy")  # released all the same

    monkeypatch.setattr("cifar_tui.engine.training.train_strategy.train_strategy", train)
    resume_and_run(runs, RUN_ID, redirect_native_log=False)
    assert released == [0]



def test_releasing_drops_the_graphs_tensorflow_keeps_for_custom_gradients():
    """Each graph-mode trace of swish (EfficientNet's activation) registers a gradient function holding its
    whole graph, never removed by TensorFlow; releasing a finished model drops them."""
    import tensorflow as tf
    from tensorflow.python.framework import ops

    from cifar_tui.engine.runtime.memory import CUSTOM_GRADIENT_PREFIX, release_models

    @tf.function
    def swish_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.silu(x)
        return tape.gradient(y, x)

    swish_gradient(tf.ones(3))
    def registered():
        return [n for n in ops._gradient_registry._registry if n.startswith(CUSTOM_GRADIENT_PREFIX)]

    assert registered()
    release_models()
    assert registered() == []


def test_a_run_recorded_before_new_defaults_resumes_as_it_started(tmp_path):
    """Its config.json lacks the knobs whose defaults changed since: the scratch CNN's constant Adam rate
    (before #18's schedule) and the live frozen head (before #14's cache), only where they change a strategy."""
    from cifar_tui.engine.run.resume import plan_resume, recorded_before

    runs = tmp_path / "runs"
    record_cancelled_run(runs)  # scratch only, recorded with a config of four keys
    plan = plan_resume(runs, RUN_ID)
    assert plan.config.scratch_schedule == "constant" and plan.config.jit is False  # before XLA's "auto"
    # before #14: no XLA unless asked, TensorFlow only; before #15's k-shot protocol: validation from the subset
    before = {"jit": False, "backend": "tensorflow", "val_from": "subset"}
    assert recorded_before({"strategies": ["frozen"]}) == {**before, "frozen_features": "live"}
    assert recorded_before({"strategies": ["scratch"], "scratch_model": "airbench"}) == before
