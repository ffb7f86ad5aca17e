"""Bad input is caught before anything trains: numeric flags outside their real range, a missing data
folder, an unusable runs folder and a weights file for another model are refused in one stderr line, exit 2,
nothing written, and (for all but the weights file's h5py look) before TensorFlow is imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cifar_tui.cli.main import app
from cifar_tui.engine.errors import WeightsError
from cifar_tui.engine.models.backbone import resolve_weights

runner = CliRunner()
REPORT_TF = "import atexit, sys; atexit.register(lambda: print('TF', 'tensorflow' in sys.modules, file=sys.stderr)); "


def cifar_tui(*args, tmp_path):
    """The console entry point in a subprocess; its last stderr line says whether TensorFlow was imported."""
    code = REPORT_TF + "from cifar_tui.cli.main import main; main(sys.argv[1:])"
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras")}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize(("flags", "message"), [
    (["--seed", "4294967296"], "seed must be at most 2147483647, got 4294967296"),
    (["--seed", "-1"], "seed must be at least 0"),
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--epochs", "100000"], "scratch epochs must be at most 10000"),
    (["--head-epochs", "100000"], "head epochs must be at most 10000"),
    (["--batch-size", "0"], "batch size must be at least 1"),
    (["--batch-size", "1000000"], "batch size must be at most 65536"),
    (["--image-size", "100000"], "image size must be at most 1024"),
    (["--scratch-image-size", "4"], "scratch image size must be at least 8"),
    (["--val-fraction", "1.5"], "val fraction must be in (0, 1)"),
    (["--train-fraction", "0"], "train fraction must be in (0, 1]"),
    (["--finetune-lr", "5"], "finetune lr must be in (0, 1)"),
    (["--finetune-lr", "nan"], "finetune lr must be in (0, 1)"),
    (["--unfreeze-blocks", "9"], "unfreeze blocks must be at most 7"),
    (["--test-limit", "5"], "test limit must be at least 10"),
    (["--train-per-class", "0"], "train images per class must be at least 1"),
    (["--train-per-class", "200"], "200 training images per class asked, but the smallest class has only 125 "
                                   "after the validation split (digits)"),
    (["--train-per-class", "5", "--train-fraction", "0.5"], "give --train-per-class or --train-fraction, not both"),
    (["--steps-per-execution", "0"], "steps per execution must be at least 1"),
    (["--steps-per-execution", "99999"], "steps per execution must be at most 10000"),
])
def test_numeric_flags_are_checked_with_their_real_range(tmp_path, flags, message):
    result = runner.invoke(app, ["run", "--dataset", "digits", "--runs-dir", str(tmp_path / "runs"), *flags])
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("knob", "value", "message"), [
    ("transfer_image_size", 5, "image size must be at least 32"),
    ("airbench_epochs", 10**9, "airbench epochs must be at most 10000"),
    ("airbench_batch_size", 10**9, "airbench batch size must be at most 65536"),
    ("head_units", 10**9, "head units must be at most 65536"),
    ("finetune_patience", 10**9, "finetune patience must be at most 10000"),
    ("test_limit", 10**12, "test limit must be at most 10000000"),
    ("train_per_class", 10**12, "train images per class must be at most 10000000"),
    ("checkpoints", "no", "checkpoints must be true or false, got 'no'"),
    ("tensorboard", "yes", "tensorboard must be true or false"),
    ("finetune_analysis", "n", "finetune analysis must be true or false"),
    ("data_dir", 5, "preset and data dir must be text"),
])
def test_every_value_is_range_checked_whether_or_not_its_strategy_runs(knob, value, message):
    """A scratch-only run took `--image-size 5` (and a TOML's `checkpoints = "no"`, a truthy string) silently."""
    from cifar_tui.engine.config.config import ExperimentConfig
    from cifar_tui.engine.errors import ConfigError

    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        ExperimentConfig(dataset="digits", strategies=("scratch",), **{knob: value}).validate()


def test_an_image_size_flag_is_checked_though_only_scratch_runs(tmp_path):
    result = runner.invoke(app, ["run", "--dataset", "digits", "--strategies", "scratch", "--image-size", "5",
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "image size must be at least 32" in result.output, result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("flags", "message"), [
    (["--seed", "4294967296"], "seed must be at most 2147483647"),
    (["--train-per-class", "4600"], "4600 training images per class asked, but the smallest class has only 4500"),
    (["--data-dir", "/nonexistent/cifar"], "--data-dir /nonexistent/cifar does not exist"),
    (["--runs-dir", "RUNS_FILE"], "is a file, not a folder"),
])
def test_refused_before_tensorflow_is_imported(tmp_path, flags, message):
    runs_file = tmp_path / "runs-file"
    runs_file.write_text("not a folder")
    flags = [str(runs_file) if f == "RUNS_FILE" else f for f in flags]
    result = cifar_tui("run", "--strategies", "scratch", "--epochs", "1", *flags, tmp_path=tmp_path)
    error, tf_line = result.stderr.splitlines()
    assert result.returncode == 2 and message in error and error.startswith("cifar-tui: error: "), result.stderr
    assert tf_line == "TF False"  # refused in about a second, not after TensorFlow's 4-5 s import
    assert result.stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["runs-file"]


@pytest.fixture(scope="module")
def weights_files(tmp_path_factory):
    """Weights of other models, saved the ways users get them: Keras 3 `.weights.h5` and the legacy `.h5`."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    folder = tmp_path_factory.mktemp("weights")

    def legacy(model, name):
        with h5py.File(folder / name, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
        return folder / name

    small = (32, 32, 3)
    b0 = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=small)
    b1 = keras.applications.EfficientNetB1(include_top=False, weights=None, input_shape=small)
    b1.save_weights(folder / "efficientnetb1_notop.weights.h5")
    with_top = keras.applications.EfficientNetB0(include_top=True, weights=None)
    mobilenet = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=small)
    return {"b0_legacy": legacy(b0, "efficientnetb0_notop.h5"), "b1_legacy": legacy(b1, "efficientnetb1_notop.h5"),
            "b1": folder / "efficientnetb1_notop.weights.h5", "top": legacy(with_top, "efficientnetb0.h5"),
            "mobilenet": legacy(mobilenet, "mobilenet_v2_notop.h5")}


@pytest.mark.parametrize(("which", "looks_like"), [
    ("b1", "as EfficientNetB1 notop weights would"),
    ("b1_legacy", "as EfficientNetB1 notop weights would"),
    ("top", "it includes ImageNet's 1000-class classifier (a with-top file)"),
    ("mobilenet", "it is not an EfficientNet (its layers are named Conv1"),
])
def test_weights_for_another_model_are_described(weights_files, which, looks_like):
    with pytest.raises(WeightsError) as info:
        resolve_weights(str(weights_files[which]))
    message = str(info.value)
    assert message.startswith(f"weights file {weights_files[which]} is not EfficientNetB0 notop weights: ")
    assert looks_like in message and "\n" not in message


def test_efficientnetb0_notop_weights_pass_the_check(weights_files):
    assert resolve_weights(str(weights_files["b0_legacy"])).pretrained


def test_a_b1_weights_file_is_refused_before_the_run_starts(weights_files, tmp_path):
    result = cifar_tui("run", "--dataset", "digits", "--weights", str(weights_files["b1"]), "--runs-dir",
                       str(tmp_path / "runs"), tmp_path=tmp_path)
    error, tf_line = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert f"weights file {weights_files['b1']} is not EfficientNetB0 notop weights" in error
    assert "EfficientNetB1" in error and tf_line == "TF False"
    assert not (tmp_path / "runs").exists() and result.stdout == ""  # the scratch strategy never trained
