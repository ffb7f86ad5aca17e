"""The app's launcher takes every run option of `cifar-tui run` (one definition), and falls back to one line
plus the plain headless path where it cannot draw (no terminal, TERM=dumb)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from typer.testing import CliRunner

from cifar_tui.cli.flags import config_from_flags
from cifar_tui.cli.main import app
from cifar_tui.engine.config.config import ExperimentConfig

runner = CliRunner()
OPTIONS = ["--preset", "quick", "--epochs", "1", "--image-size", "32", "--no-augment", "--finetune-lr", "3e-4",
           "--unfreeze-blocks", "2", "--precision", "float32", "--dataset", "digits", "--weights", "none",
           "--strategies", "scratch,frozen"]


def test_the_app_and_run_share_one_option_definition():
    def options(command) -> set[str]:
        return {p.name for p in command.params}

    import typer.main

    from cifar_tui.cli.flags import RUN_OPTION_NAMES

    group = typer.main.get_command(app)
    assert set(RUN_OPTION_NAMES) <= options(group)
    assert set(RUN_OPTION_NAMES) <= options(group.commands["run"])


def test_the_app_starts_with_every_run_option(tmp_path, monkeypatch):
    started: list[ExperimentConfig] = []
    monkeypatch.setattr("cifar_tui.cli.launch.launch_app",
                        lambda runs_dir, start=None, watch=None: started.append(start) or 0)
    result = runner.invoke(app, [*OPTIONS, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    expected = config_from_flags(preset="quick", epochs=1, image_size=32, augment=False, finetune_lr=3e-4,
                                 unfreeze_blocks=2, precision="float32", dataset="digits", weights="none",
                                 strategies="scratch,frozen")
    assert started == [expected]
    assert expected.frozen_epochs == 1 and expected.augment == "none"


def test_without_a_terminal_the_whole_config_runs_headless(tmp_path, monkeypatch):
    ran: list[ExperimentConfig] = []
    monkeypatch.setattr("cifar_tui.cli.headless.run_headless",
                        lambda config, runs_dir, plain, json_out: ran.append(config))
    result = runner.invoke(app, [*OPTIONS, "--runs-dir", str(tmp_path)])  # CliRunner's streams are no TTY
    assert result.exit_code == 0, result.output
    assert "not a terminal: running the run headless" in result.output
    (config,) = ran
    assert (config.scratch_epochs, config.transfer_image_size, config.finetune_lr) == (1, 32, 3e-4)


def test_a_dumb_terminal_gets_one_line_not_escape_codes(tmp_path):
    """TERM=dumb on a real pseudo-terminal: one line on stderr, exit 2, not a screen of escape codes."""
    env = dict(os.environ, TERM="dumb", CIFAR_TUI_RUNS=str(tmp_path))
    controller, terminal = pty.openpty()
    code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    try:
        process = subprocess.run([sys.executable, "-c", code], stdin=terminal, stdout=terminal,
                                 stderr=subprocess.PIPE, env=env, timeout=60)
    finally:
        os.close(terminal)
    os.set_blocking(controller, False)
    try:
        screen = os.read(controller, 65536)
    except (BlockingIOError, OSError):
        screen = b""
    os.close(controller)
    assert process.returncode == 2
    lines = process.stderr.decode().strip().splitlines()
    assert lines == ["cifar-tui: error: this terminal (TERM=dumb) cannot draw the app; for batch jobs use "
                     "`cifar-tui run`"]
    assert b"\x1b" not in screen


def test_headless_progress_is_plain_lines_on_a_dumb_terminal(monkeypatch):
    from cifar_tui.cli.progress import PlainProgress, progress_sink

    class FakeTerminal:
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", FakeTerminal())
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(progress_sink(None), PlainProgress)  # no progress bars redrawn with escape codes
