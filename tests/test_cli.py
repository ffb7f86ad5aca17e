"""The headless CLI: run, runs list, runs show, exit codes, one-line errors, no TensorFlow for quick commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from events_factory import record_runs
from typer.testing import CliRunner

from cifar_tui.cli.main import app

runner = CliRunner()
TINY = ["--train-per-class", "6", "--test-limit", "20", "--image-size", "32", "--epochs", "1", "--batch-size", "16",
        "--weights", "none", "--eager", "--plain"]


def cifar_tui(*args, env=None):
    """The real console entry point, in a subprocess (exit codes and stderr exactly as a user sees them)."""
    code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env=env)


def seed_runs(runs_dir):
    record_runs(runs_dir, ("20270115-080000-demo-abcd", "20270116-080000-other-0002"))


def test_run_scratch_headless_plain_lines_and_summary(cifar_dir, tmp_path):
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["run", "--strategies", "scratch", "--data-dir", str(cifar_dir),
                                 "--runs-dir", str(runs), "--name", "cli", "--tensorboard", *TINY])
    assert result.exit_code == 0, result.output
    assert "scratch   train    epoch 1/1" in result.output  # one plain line per epoch
    assert "test accuracy" in result.output and "recorded in" in result.output
    (folder,) = list(runs.iterdir())
    assert folder.name.split("-")[2] == "cli"
    assert list((folder / "tensorboard" / "scratch").rglob("events.out.tfevents*"))  # TensorBoard scalars
    listed = runner.invoke(app, ["runs", "list", "--runs-dir", str(runs), "--json"])
    assert json.loads(listed.output)[0]["status"] == "finished"
    shown = runner.invoke(app, ["runs", "show", folder.name, "--runs-dir", str(runs), "--json"])
    data = json.loads(shown.output)
    assert data["strategies"]["scratch"]["status"] == "finished" and len(data["history"]["scratch"]) == 1


def test_runs_list_and_show_tables(tmp_path):
    seed_runs(tmp_path)
    out = runner.invoke(app, ["runs", "list", "--runs-dir", str(tmp_path)]).output
    assert "20270116-080000-other-0002" in out and "80.0" in out and "finished" in out
    out = runner.invoke(app, ["runs", "show", "demo", "--runs-dir", str(tmp_path)]).output
    assert "finetune" in out and "epochs" in out
    assert "90.0±4.7%" in out and "binomial standard error on 40 test images" in out  # sqrt(.9 * .1 / 40)


def test_python_dash_m_tui_cli_has_every_command(tmp_path):
    """`python -m cifar_tui.cli.main` ran a second copy of the module, which had no `runs` commands registered."""
    seed_runs(tmp_path)
    out = subprocess.run([sys.executable, "-m", "cifar_tui.cli.main", "runs", "list", "--runs-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "20270116-080000-other-0002" in out.stdout


def test_empty_strategies_names_every_strategy_the_probe_too(tmp_path):
    result = runner.invoke(app, ["run", "--strategies", ",", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "scratch, frozen, finetune, probe" in result.output


def test_runs_dir_from_environment(tmp_path, monkeypatch):
    seed_runs(tmp_path)
    monkeypatch.setenv("CIFAR_TUI_RUNS", str(tmp_path))
    assert len(json.loads(runner.invoke(app, ["runs", "list", "--json"]).output)) == 2


@pytest.mark.parametrize("args,message", [
    (["run", "--epochs", "0"], "--epochs must be at least 1, got 0"),  # named as given, not "scratch epochs"
    (["run", "--batch-size", "0"], "batch size must be at least 1"),
    (["run", "--image-size", "16"], "image size must be at least 32"),
    (["run", "--train-fraction", "1.5"], "train fraction must be in (0, 1]"),
    (["run", "--strategies", "scratch,bogus"], "unknown strategy 'bogus'"),
    (["run", "--preset", "huge"], "unknown preset 'huge'"),
    (["run", "--name", "../../etc"], "run name '../../etc' is not allowed"),
    (["run", "--dataset", "svhn"], "unknown dataset 'svhn'"),
    (["run", "--bogus-flag"], "No such option: --bogus-flag"),
    (["runs", "show", "../x"], "not a valid run id"),
    (["runs", "show", "nothing-like-this"], "no run 'nothing-like-this'"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, args, message):
    runs = tmp_path / "runs"
    result = cifar_tui(*args, "--runs-dir", str(runs)) if args[0] == "run" else cifar_tui(*args, "--runs-dir",
                                                                                          str(runs))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cifar-tui: error: ") and message in lines[0]
    assert "Traceback" not in result.stderr
    assert not runs.exists()


def test_missing_data_is_one_line_and_exit_2(tmp_path):
    result = cifar_tui("run", "--data-dir", str(tmp_path / "nowhere"), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "does not exist" in result.stderr and "--dataset digits" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["runs", "list"], ["runs", "show", "demo"], ["run", "--help"]])
def test_quick_commands_do_not_import_tensorflow(tmp_path, args):
    seed_runs(tmp_path)
    code = ("import sys\nfrom cifar_tui.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\nbad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
            "print('HEAVY', bad)")
    extra = ["--runs-dir", str(tmp_path)] if args[0] == "runs" else []
    out = subprocess.run([sys.executable, "-c", code, *args, *extra], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_engine_imports_neither_textual_nor_rich():
    code = ("import sys, cifar_tui.engine, cifar_tui.engine.run.runner, cifar_tui.engine.run.session, "
            "cifar_tui.engine.store.reader, cifar_tui.engine.store.recorder, "
            "cifar_tui.engine.data.splits, cifar_tui.engine.run.state\n"
            "print(sorted(m for m in ('textual', 'rich', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_full_disk_is_a_one_line_error_and_earlier_runs_stay_intact(cifar_dir, tmp_path, monkeypatch):
    import errno

    from cifar_tui.engine.store.recorder import RunRecorder

    runs = tmp_path / "runs"
    seed_runs(runs)
    before = {p.relative_to(runs): p.read_bytes() for p in runs.rglob("*") if p.is_file()}

    def full(self, event):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunRecorder, "_append", full)
    result = runner.invoke(app, ["run", "--strategies", "scratch", "--data-dir", str(cifar_dir), "--runs-dir",
                                 str(runs), *TINY])
    assert result.exit_code == 74  # a write failed mid-run (EX_IOERR); 2 is bad input with nothing written
    assert "No space left on device" in result.output and "Traceback" not in result.output
    after = {p.relative_to(runs): p.read_bytes() for p in runs.rglob("*") if p.is_file()
             if p.parts[len(runs.parts)] in {q.parts[0] for q in before}}
    assert after == before  # the earlier runs are untouched


def test_run_json_puts_only_json_on_stdout(tmp_path):
    result = cifar_tui("run", "--dataset", "digits", "--strategies", "scratch", "--runs-dir", str(tmp_path),
                       "--json", *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["status"] == "finished" and summary["dataset"]["name"] == "digits"
    assert "scratch   train    epoch 1/1" in result.stderr  # progress went to stderr


def test_the_probe_has_no_learning_rate_and_the_epoch_lines_say_so():
    """The probe's 'epochs' are points of its C grid, with no learning rate (NaN in the event, null on
    disk): the plain line printed 'lr nan' (read as a divergence) and `runs show` 'lr 0e+00'."""
    import math

    from rich.console import Console

    from cifar_tui.cli.progress import epoch_line
    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.run.state import RunState
    from cifar_tui.render.tables import epochs_table

    def epoch(rate):
        return ev.EpochEnd(strategy="probe", phase="train", epoch=1, epochs=9, loss=2.0, accuracy=0.5,
                           val_loss=2.1, val_accuracy=0.4, learning_rate=rate, seconds=0.3, images_per_s=10.0)

    assert "  lr -  " in epoch_line(epoch(math.nan)) and "  lr 1e-03  " in epoch_line(epoch(1e-3))
    state = RunState(run_id="r", status="finished")
    state.apply(epoch(None))
    console = Console(width=80, record=True, file=None)
    with console.capture() as captured:
        console.print(epochs_table(state))
    row = next(line for line in captured.get().splitlines() if line.strip().startswith("probe"))
    assert "0e+00" not in row and row.split()[-2] == "-", row


@pytest.mark.parametrize("rich", [False, True])
def test_a_resumed_run_shows_its_progress_headless(rich):
    """`cifar-tui resume` printed nothing until the final table: the progress sinks waited for a run_started
    event, and a resume sends run_resumed instead (a `nohup` log of a resumed run had no epoch lines)."""
    import io

    from rich.console import Console

    from cifar_tui.cli.progress import PlainProgress, RichProgress
    from cifar_tui.engine.run import events as ev

    out = io.StringIO()
    sink = RichProgress(Console(file=out, width=120)) if rich else PlainProgress(out=out)
    for event in [ev.RunResumed(run_id="20270115-080000-demo-abcd", from_epochs={"scratch": 2},
                                environment={"device": "CPU", "precision": "float32", "backend": "jax"}),
                  ev.StrategyStarted(strategy="scratch", image_size=32, epochs=3, steps_per_epoch=4,
                                     total_params=10, weights="random init"),
                  ev.EpochEnd(strategy="scratch", phase="train", epoch=3, epochs=3, loss=0.5, accuracy=0.8,
                              val_loss=0.4, val_accuracy=0.9, learning_rate=1e-3, seconds=1.0, images_per_s=9.0),
                  ev.RunFinished(status="finished", seconds=5.0)]:
        sink(event)
    sink.close()
    text = out.getvalue()
    assert "resumed" in text and "scratch after epoch 2" in text and "jax" in text, text
    assert "epoch 3/3" in text and "run finished in 0m05s" in text, text  # as runs list writes it


def test_a_resumed_strategys_progress_bar_starts_at_its_next_epoch():
    """Until its first batch (a JAX compile can take a minute), the bar of a strategy resumed after epoch 2 of
    3 read 'epoch 1/3'."""
    import io

    from rich.console import Console

    from cifar_tui.cli.progress import RichProgress
    from cifar_tui.engine.run import events as ev

    sink = RichProgress(Console(file=io.StringIO(), width=120))
    sink(ev.RunResumed(run_id="20270115-080000-demo-abcd", from_epochs={"scratch": 2}, environment={}))
    sink(ev.StrategyStarted(strategy="scratch", image_size=32, epochs=3, steps_per_epoch=4, total_params=10,
                            weights="random init"))
    task = sink.progress.tasks[0]
    sink.close()
    assert task.fields["epoch"] == "3/3" and task.fields["stats"] == "starting"


def terminal_screen(stream: str) -> list[str]:
    """What a terminal shows after `stream`: enough of VT100 for Rich's live display (newline, carriage
    return, cursor up, erase line); colours and cursor visibility are dropped."""
    import re

    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|.", stream, flags=re.S):
        if token == "\n":
            row, col = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b["):
            if token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
            elif token == "\x1b[2K":
                lines[row] = ""
        else:
            line = lines[row].ljust(col)
            lines[row], col = line[:col] + token + line[col + 1:], col + 1
    return [line.rstrip() for line in lines if line.strip()]


def test_the_bars_leave_the_terminal_when_the_run_ends():
    """Left on screen, the bars' last frame (`epoch 2/10 ━━╸`) followed the strategy's 'cancelled' line, and
    (stopped after it was printed) the run's own last line."""
    import io

    from rich.console import Console

    from cifar_tui.cli.progress import RichProgress
    from cifar_tui.engine.run import events as ev

    out = io.StringIO()
    sink = RichProgress(Console(file=out, width=80, force_terminal=True))
    for event in [ev.RunStarted(run_id="20270115-080000-demo-abcd", config={}, environment={}, dataset={}, weights={}),
                  ev.StrategyStarted(strategy="scratch", image_size=32, epochs=10, steps_per_epoch=4,
                                     total_params=10, weights="random init"),
                  ev.BatchEnd(strategy="scratch", phase="train", epoch=2, step=1, steps=4, loss=1.0, accuracy=0.5,
                              images_per_s=10.0),
                  ev.StrategyFinished(strategy="scratch", status="cancelled", seconds=3.0, trainable_params=10,
                                      total_params=10),
                  ev.RunFinished(status="cancelled", seconds=5.0)]:
        sink(event)
    shown = terminal_screen(out.getvalue())
    assert not any("epoch 2/10" in line for line in shown), shown
    assert shown[-1] == "run cancelled in 0m05s", shown


@pytest.mark.parametrize("args, named", [
    (["--runs-dir", "RUNS", "runs", "list"], "--runs-dir given before the command"),
    (["--dataset", "digits", "--epochs", "1", "run", "--weights", "none", "--runs-dir", "RUNS"],
     "--epochs, --dataset given before the command: put them after it"),
])
def test_run_options_before_a_command_are_refused_not_ignored(tmp_path, args, named):
    """Click hands options before a command to the root: `runs list` looked in the default folder and said
    "no runs", `run` trained on its defaults (CIFAR-10) and told the user to pass the --dataset they passed."""
    result = runner.invoke(app, [str(tmp_path / "runs") if a == "RUNS" else a for a in args])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and named in result.stderr, result.output
    assert not (tmp_path / "runs").exists()  # nothing ran, nothing recorded
