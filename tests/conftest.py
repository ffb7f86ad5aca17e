"""Test-wide setup: Keras' home in a temporary folder (never the user's ~/.keras), quiet TensorFlow."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

# Before anything imports keras: it creates $KERAS_HOME/keras.json at import time.
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="cifar-tui-keras-home-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("CIFAR_TUI_RUNS", None)
os.environ.pop("KERAS_BACKEND", None)  # the suite runs Keras on TensorFlow; JAX tests use child processes
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "keras-home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


@pytest.fixture
def cifar_dir(tmp_path) -> Path:
    from cifar_writers import tiny_cifar

    return tiny_cifar(tmp_path / "data")
