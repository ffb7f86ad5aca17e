"""Out of memory says so, with the fix and its values, wherever a failed strategy is shown; other backend
errors keep their meaningful line (issue #26 section 3). The exceptions are the backends' own types, with
the messages they carry (TensorFlow's captured from `ulimit -v 8000000` and the issue's command)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.run.failures import describe_failure

# TensorFlow 2.21's message for the issue's command (scratch at 1024 px, batch 512, under ulimit -v 8000000)
TF_OOM = """Graph execution error:

Detected at node scratch_cnn_1/resize_1/resize/ResizeBilinear defined at (most recent call last):
  File "/venv/bin/cifar-tui", line 6, in <module>

  File "/venv/lib/python3.11/site-packages/keras/src/backend/tensorflow/image.py", line 331, in resize

OOM when allocating tensor with shape[512,1024,1024,3] and type float on \
/job:localhost/replica:0/task:0/device:CPU:0 by allocator mklcpu
\t [[{{node scratch_cnn_1/resize_1/resize/ResizeBilinear}}]]
Hint: If you want to see a list of allocated tensors when OOM happens, add report_tensor_allocations_upon_oom \
to RunOptions for current allocation info. This isn't available when running in Eager mode.
 [Op:__inference_multi_step_on_iterator_5067]"""
TF_BAD_LABEL = """Graph execution error:

Detected at node compile_loss/sparse_categorical_crossentropy/SparseSoftmaxCrossEntropyWithLogits defined at \
(most recent call last):
  File "/venv/bin/cifar-tui", line 6, in <module>

Received a label value of 12 which is outside the valid range of [0, 10).  Label values: 3 12 1
\t [[{{node compile_loss/sparse_categorical_crossentropy/SparseSoftmaxCrossEntropyWithLogits}}]] \
[Op:__inference_multi_step_on_iterator_911]"""
JAX_OOM = "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 25769803776 bytes."
ISSUE_CONFIG = ExperimentConfig(scratch_image_size=1024, batch_size=512)
OOM_LINE = ("out of memory: try a smaller --batch-size 256 (was 512) or --scratch-image-size 512 (was 1024); "
            "ResourceExhaustedError: OOM when allocating tensor with shape[512,1024,1024,3] and type float on CPU:0")


def test_tensorflow_out_of_memory_names_the_cause_and_the_fix_with_its_values():
    from tensorflow import errors

    assert describe_failure(errors.ResourceExhaustedError(None, None, TF_OOM), ISSUE_CONFIG, "scratch") == OOM_LINE


def test_other_backends_out_of_memory_and_other_errors_keep_their_meaningful_line():
    from jax.errors import JaxRuntimeError
    from tensorflow import errors

    assert describe_failure(JaxRuntimeError(JAX_OOM), ISSUE_CONFIG, "frozen") == (
        "out of memory: try a smaller --batch-size 256 (was 512) or --image-size 112 (was 224); "
        f"JaxRuntimeError: {JAX_OOM}")
    assert describe_failure(MemoryError(), ExperimentConfig(batch_size=1, transfer_image_size=32), "finetune") == (
        "out of memory: free memory on the device, or use a larger one; MemoryError")
    airbench = ExperimentConfig(scratch_model="airbench", airbench_batch_size=1024)
    assert describe_failure(MemoryError("cannot allocate"), airbench, "scratch").startswith(
        "out of memory: try a smaller --airbench-batch-size 512 (was 1024); MemoryError: cannot allocate")
    assert describe_failure(errors.InvalidArgumentError(None, None, TF_BAD_LABEL)) == (
        "InvalidArgumentError: Received a label value of 12 which is outside the valid range of [0, 10).  "
        "Label values: 3 12 1")
    failed = JaxRuntimeError("INTERNAL: cuDNN failed\nmore")
    assert describe_failure(failed) == "JaxRuntimeError: INTERNAL: cuDNN failed"


@pytest.mark.slow
def test_a_strategy_out_of_memory_is_said_on_stderr_in_the_progress_lines_the_summary_and_its_event(
        tmp_path, monkeypatch):
    import keras
    from tensorflow import errors

    from cifar_tui.cli.main import app

    def out_of_memory(*args, **kwargs):
        raise errors.ResourceExhaustedError(None, None, TF_OOM)

    monkeypatch.setattr(keras.Model, "fit", out_of_memory)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["run", "--dataset", "digits", "--weights", "none", "--strategies", "scratch",
                                      "--epochs", "1", "--train-per-class", "4", "--test-limit", "20",
                                      "--batch-size", "16", "--plain", "--runs-dir", str(runs)])
    assert result.exit_code == 1, result.output
    line = ("out of memory: try a smaller --batch-size 8 (was 16) or --scratch-image-size 16 (was 32); "
            "ResourceExhaustedError: OOM when allocating tensor with shape[512,1024,1024,3] and type float on CPU:0")
    assert f"scratch   FAILED: {line}" in result.stdout
    assert f"cifar-tui: scratch failed: {line}" in result.stderr
    assert "[Op:" not in result.output and "Graph execution error" not in result.output
    (folder,) = runs.iterdir()
    assert json.loads((folder / "summary.json").read_text())["strategies"]["scratch"]["error"] == line
    events = [json.loads(e) for e in (folder / "events.jsonl").read_text().splitlines()]
    assert [e["error"] for e in events if e["type"] == "strategy_failed"] == [line]


async def test_the_app_shows_the_whole_line_of_a_strategy_that_failed(tmp_path):
    from app_harness import ScriptedEngine
    from events_factory import run_started
    from test_app import until

    from cifar_tui.app.app import CifarTuiApp
    from cifar_tui.engine.run import events as ev

    stream = [run_started(strategies=("scratch",)), ev.StrategyFailed(strategy="scratch", error=OOM_LINE),
              ev.RunFinished(status="failed", seconds=1.0, error="a strategy failed")]
    app = CifarTuiApp(tmp_path, start=ExperimentConfig(dataset="digits", weights="none"),
                      engine=ScriptedEngine(stream))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.live_state.status == "failed")
        assert f"scratch failed: {OOM_LINE}" in [n.message for n in app._notifications]
