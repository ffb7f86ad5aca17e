"""What a run ran on: versions, devices, host. Recorded in every run's `run_started` event."""

from __future__ import annotations

import platform
import socket
import sys


def resolve_precision(requested: str, has_gpu: bool) -> str:
    """'auto' means mixed precision where it pays (a GPU), float32 on a CPU (float16 is slower there)."""
    if requested == "auto":
        return "mixed" if has_gpu else "float32"
    return requested


def resolve_jit(requested: bool | None, backend: str, has_gpu: bool, distributed: bool) -> bool:
    """XLA on or off. `requested` (--jit/--no-jit) wins; None follows Keras 3.15's `jit_compile="auto"`
    (keras/src/trainers/trainer.py `_resolve_auto_jit_compile`): off on PyTorch, off for TensorFlow on a
    CPU-only machine (measured slower there: EfficientNet inference at 224 px 71 img/s without, 8 with) and
    under tf.distribute, on otherwise (GPUs; JAX always compiles its steps)."""
    if requested is not None:
        return bool(requested)
    if backend == "torch":
        return False
    if backend == "tensorflow":
        return has_gpu and not distributed
    return True


def describe_environment(precision: str = "auto") -> dict:
    import keras
    import numpy
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices and the like: not for the user's terminal

    devices = [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()]
    gpus = [d for d in devices if "GPU" in d]
    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "devices": devices,
        "device": gpus[0] if gpus else "CPU",
        "precision": resolve_precision(precision, bool(gpus)),
    }
