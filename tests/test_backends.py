"""Any Keras backend, TensorFlow by default (issue #14, part 3): the choice, what each backend refuses, and
the engine end to end under JAX on CPU (in a child process: this one already runs Keras on TensorFlow)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cifar_tui.cli.flags import config_from_flags
from cifar_tui.cli.main import app
from cifar_tui.cli.study import continue_command
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.config.config_diff import config_diff
from cifar_tui.engine.errors import ConfigError
from cifar_tui.engine.run.resume import recorded_before
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.runtime.backend import activate, process_backend, requested_backend
from cifar_tui.render.tables import recorded_backend

runner = CliRunner()
TORCH_INSTALLED = importlib.util.find_spec("torch") is not None


def test_backend_from_flag_then_keras_backend_then_tensorflow(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert config_from_flags().backend == "tensorflow"
    assert config_from_flags(backend="jax").backend == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert config_from_flags().backend == "jax"  # Keras' own variable stands in for the flag
    assert config_from_flags(backend="tensorflow").backend == "tensorflow"  # the flag wins
    assert requested_backend(None, {}) == "tensorflow" and requested_backend("JAX", {}) == "jax"


@pytest.mark.parametrize(("flags", "message"), [
    (["--backend", "theano"], "unknown backend 'theano': choose from tensorflow, jax, torch"),
    (["--backend", "jax", "--gpus", "cpu:2"], "uses tf.distribute (MirroredStrategy), which needs --backend "
                                              "tensorflow"),
    (["--backend", "jax", "--tensorboard"], "--tensorboard writes its scalars with TensorFlow: it needs "
                                            "--backend tensorflow, not jax"),
    pytest.param(["--backend", "torch"], "the torch backend needs the torch package, which is not installed "
                                         "here: pip install torch",
                 marks=pytest.mark.skipif(TORCH_INSTALLED, reason="torch is installed")),
])
def test_what_a_backend_cannot_do_is_refused_in_one_line(tmp_path, flags, message):
    result = runner.invoke(app, ["run", "--dataset", "digits", "--runs-dir", str(tmp_path / "runs"), *flags])
    assert result.exit_code == 2 and message in result.output, result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "runs").exists()


@pytest.mark.skipif(TORCH_INSTALLED, reason="torch is installed")
def test_study_backend_reaches_every_cell(tmp_path):
    """`study --backend torch` without torch: the cells' configs carry it, so the study is refused at once."""
    result = runner.invoke(app, ["study", "seed-replication", "--backend", "torch", "--dry-run",
                                 "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "pip install torch" in result.output, result.output
    assert "--backend jax" in continue_command("paper-grid", None, [], None, None, 1, "jax")


def test_keras_already_on_another_backend_is_refused_before_a_run_folder(tmp_path, cifar_dir):
    import keras

    from cifar_tui.engine.run.session import record_and_run

    assert keras.backend.backend() == "tensorflow"  # this process's Keras, fixed at its first import
    config = ExperimentConfig(backend="jax", strategies=("scratch",), data_dir=str(cifar_dir), weights="none")
    with pytest.raises(ConfigError, match="Keras already runs on tensorflow in this process and cannot switch "
                                          "to jax"):
        record_and_run(config, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    activate("tensorflow")  # the same backend: nothing to do


def test_the_apps_new_run_form_starts_on_the_backend_keras_runs_on(monkeypatch):
    import keras

    from cifar_tui.app.screens.new_run import NewRunScreen

    monkeypatch.setenv("KERAS_BACKEND", "jax")  # too late for this process: its Keras runs on TensorFlow
    assert keras.backend.backend() == "tensorflow" and process_backend() == "tensorflow"
    form = NewRunScreen()
    assert form.base.backend == "tensorflow" and form.template_for("paper").backend == "tensorflow"
    assert NewRunScreen(ExperimentConfig(backend="jax")).template_for("paper").backend == "jax"
    # as in an app that has run nothing yet
    monkeypatch.setattr("cifar_tui.engine.runtime.backend.loaded_backend", lambda: None)
    assert NewRunScreen().base.backend == "jax"


def test_runs_recorded_before_the_choice_ran_on_tensorflow():
    old = {"strategies": ["scratch"], "augment": "flip+translate"}
    assert ExperimentConfig.from_dict({**recorded_before(old), **old}).backend == "tensorflow"
    assert config_diff([old, {**old, "backend": "tensorflow"}]) == {}  # not a difference
    assert {k: [s.value for s in v] for k, v in config_diff([old, {**old, "backend": "jax"}]).items()} == {
        "backend": ["tensorflow", "jax"]}
    state = RunState()
    assert recorded_backend(state) == ""  # nothing known yet
    state.config, state.environment = old, {"device": "CPU"}
    assert recorded_backend(state) == "tensorflow"
    state.environment = {"device": "CPU", "backend": "jax"}
    assert recorded_backend(state) == "jax"


# --- JAX on CPU, end to end, in one child process ------------------------------------------------------


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory) -> dict:
    """tests/jax_scenarios.py's results: a cancelled-then-resumed scratch run and the feature cache, on JAX."""
    from cifar_writers import tiny_cifar

    work = tmp_path_factory.mktemp("jax")
    data = tiny_cifar(work / "data", n_train=60, n_test=30)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # the config's backend must set it
    env.update(KERAS_HOME=str(work / "keras"), PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]), *sys.path]))
    out = work / "out.json"
    done = subprocess.run([sys.executable, str(Path(__file__).parent / "jax_scenarios.py"), str(out), str(data),
                           str(work)], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_a_jax_run_goes_end_to_end_and_says_so(jax_run):
    run = jax_run["run"]
    assert run["status"] == "finished" and run["scratch"] == "finished" and run["test_accuracy"] is not None
    assert run["config_backend"] == "jax" and run["environment"]["backend"] == "jax"
    assert run["environment"]["jax"] and "tensorflow" not in run["environment"]


@pytest.mark.slow
def test_a_jax_run_resumes_after_a_cancel(jax_run):
    run = jax_run["run"]
    assert run["first_status"] == "cancelled" and run["resumed_from"] == {"scratch": 1}
    assert run["epochs"] == [1, 2] and run["resumes"] == 1  # epoch 2 only, from epoch 1's checkpoint


@pytest.mark.slow
def test_a_jax_fit_compiles_each_step_once(jax_run):
    """Issue #27: 54 training images at batch 16, 20 test images: a partial last batch compiled the train and
    predict steps a second time. Two fits (the run, cancelled after epoch 1, and its resume)."""
    steps = {name.removeprefix("jit(").removesuffix(")"): n for name, n in jax_run["run"]["compiles"].items()}
    assert steps == {"train_step": 2, "test_step": 2, "predict_step": 1}, steps


@pytest.mark.slow
def test_the_feature_cache_under_jax_is_written_once_and_reused(jax_run):
    cache = jax_run["cache"]
    assert cache["backend"] == "jax"
    first, again, mirrored = cache["logs"]
    assert "0 images from cache, 12 extracted" in first and "12 images from cache, 0 extracted" in again
    assert "mirrored" in mirrored and cache["mirror_differs"] and cache["same"]
    assert cache["fit_epochs"] == 2  # a head fitted on the cached-feature batches


@pytest.mark.slow
def test_a_jax_run_never_imports_tensorflow(jax_run):
    assert not jax_run["tensorflow_loaded"], f"first imported by {' -> '.join(jax_run['first_tensorflow_import'])}"


def test_the_backend_is_on_the_first_line_and_in_runs_show(tmp_path):
    from events_factory import run_started

    from cifar_tui.cli.progress import milestone_line
    from cifar_tui.engine.store.recorder import RunRecorder

    old = run_started()  # recorded before the choice: no backend anywhere
    assert milestone_line(old).endswith("device CPU (float32, tensorflow)")
    jax = run_started(run_id="20270115-090000-jax-abcd")
    jax.config["backend"] = "jax"
    jax.environment = {"device": "CPU", "backend": "jax", "jax": "0.10.2", "keras": "3.15.1"}
    assert milestone_line(jax).endswith("device CPU (float32, jax)")
    recorder = RunRecorder(tmp_path, jax.run_id)
    recorder(jax)
    recorder.close()
    out = runner.invoke(app, ["runs", "show", jax.run_id, "--runs-dir", str(tmp_path)])
    assert out.exit_code == 0 and "weights: ImageNet (test); backend jax" in " ".join(out.output.split()), out.output


@pytest.mark.parametrize("command", [["run", "--dataset", "digits"], ["study", "seed-replication", "--dry-run"]])
def test_a_bad_keras_backend_variable_is_named_in_the_refusal(tmp_path, monkeypatch, command):
    """No --backend given: the one-line refusal says the name came from KERAS_BACKEND (it read as if the
    user had typed 'theano' somewhere)."""
    monkeypatch.setenv("KERAS_BACKEND", "theano")
    result = runner.invoke(app, [*command, "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "KERAS_BACKEND=theano" in result.output and "choose from tensorflow, jax, torch" in result.output
