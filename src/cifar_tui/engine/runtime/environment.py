"""What a run ran on: backend, versions, devices, host. Recorded in every run's `run_started` event."""

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
    """Backend, versions and devices of this process's Keras (its backend already chosen, see
    engine/runtime/backend.py). `devices`: every device the backend sees; `device`: the first accelerator or "CPU"."""
    import keras
    import numpy

    backend = keras.backend.backend()
    version, devices = _BACKEND_FACTS[backend]()
    gpus = [d for d in devices if "GPU" in d.upper() or "CUDA" in d.upper()]
    return {
        "backend": backend,
        backend: version,  # "tensorflow": "2.21.0", or "jax": ..., "torch": ...
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "devices": devices,
        "device": gpus[0] if gpus else "CPU",
        "precision": resolve_precision(precision, bool(gpus)),
    }


def _tensorflow() -> tuple[str, list[str]]:
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices and the like: not for the user's terminal
    return tf.__version__, [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()]


def _jax() -> tuple[str, list[str]]:
    import jax

    # "CPU:0" / "GPU:0" (jax calls a CUDA device "cuda:0" or "gpu:0" by version): TensorFlow's spelling
    return jax.__version__, [f"{d.platform.upper().replace('CUDA', 'GPU')}:{d.id}" for d in jax.devices()]


def _torch() -> tuple[str, list[str]]:
    import torch

    gpus = [f"GPU:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return torch.__version__, ["CPU:0", *gpus]


_BACKEND_FACTS = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}
