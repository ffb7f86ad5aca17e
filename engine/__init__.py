"""cifar-tui's engine: data, models, training, events and the run store.

Imports neither Textual nor Rich, and TensorFlow only when a run starts, so quick commands stay quick.
"""

from engine.config import ExperimentConfig
from engine.runner import run_experiment

__all__ = ["ExperimentConfig", "run_experiment"]
