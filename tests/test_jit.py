"""XLA: --jit/--no-jit win; unset, Keras 3.15's jit_compile="auto" rule decides (never TensorFlow on a CPU)."""

from __future__ import annotations

import pytest

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import ConfigError
from cifar_tui.engine.runtime.environment import resolve_jit


@pytest.mark.parametrize("backend,gpu,distributed,expected", [
    ("tensorflow", False, False, False),  # measured slower on CPU
    ("tensorflow", True, False, True),
    ("tensorflow", True, True, False),  # Keras: no XLA under tf.distribute
    ("jax", False, False, True),  # JAX compiles its steps everywhere
    ("torch", True, False, False),
])
def test_auto_follows_keras(backend, gpu, distributed, expected):
    assert resolve_jit(None, backend, gpu, distributed) is expected


def test_the_flag_overrides_auto():
    assert resolve_jit(True, "tensorflow", False, False) is True
    assert resolve_jit(False, "jax", True, False) is False


def test_config_default_is_auto_and_nonsense_is_refused():
    assert ExperimentConfig().jit is None
    for value in (None, True, False):
        ExperimentConfig(jit=value).validate()
    with pytest.raises(ConfigError, match="jit must be"):
        ExperimentConfig(jit="yes").validate()
