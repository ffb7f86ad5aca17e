"""cifar-tui's engine: data, models, training, events and the run store.

Imports neither Textual nor Rich, and TensorFlow only when a run starts, so quick commands stay quick.
`run_experiment` is imported on first use (PEP 562): the package imports none of its modules, so
`cifar_tui.engine.run.runner` (and all it imports) never depends on the package importing it back.
"""

from __future__ import annotations

__all__ = ["ExperimentConfig", "run_experiment"]


def __getattr__(name: str):
    if name == "ExperimentConfig":
        from cifar_tui.engine.config.config import ExperimentConfig

        return ExperimentConfig
    if name == "run_experiment":
        from cifar_tui.engine.run.runner import run_experiment

        return run_experiment
    raise AttributeError(f"module 'cifar_tui.engine' has no attribute {name!r}")
