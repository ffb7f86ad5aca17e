"""Several devices: `tf.distribute` strategies chosen from the `gpus` knob and the environment.

- `gpus = ""` (default): one device, no strategy (Keras places the model on the first GPU, or the CPU).
- `gpus = "all"` or `"0,1"`: `MirroredStrategy` over those GPUs: the model is replicated, each replica
  takes `batch_size` images per step, so the global batch is `batch_size x replicas`, and gradients are
  summed across replicas. Learning rates are scaled by the number of replicas (the linear scaling rule of
  Goyal et al., 2017) unless `scale_lr` is off.
- `TF_CONFIG` set by a cluster (one JSON per worker): `MultiWorkerMirroredStrategy` across hosts, each
  host using its visible GPUs.
- `gpus = "cpu:N"`: split the CPU into N logical devices and mirror over them. Slower than one CPU device;
  it exists so the distributed code path can be tested without GPUs (and it must run before TensorFlow
  has touched a device, so in a fresh process).
"""

from __future__ import annotations

import os

from engine.errors import ConfigError


def describe(spec: str) -> str:
    if os.environ.get("TF_CONFIG"):
        return "MultiWorkerMirroredStrategy (TF_CONFIG)"
    return f"MirroredStrategy over {spec}" if spec else ""


def make_strategy(spec: str):
    """The tf.distribute strategy for `spec`, or None for the default single device."""
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if not spec:
        return None
    if spec.startswith("cpu:"):
        count = int(spec[4:])
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError:
            pass  # already configured by an earlier run in this process; checked below
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        if len(devices) < count:
            raise ConfigError(f"--gpus {spec}: TensorFlow already started with {len(devices)} CPU device(s); "
                              f"use a fresh process")
        return tf.distribute.MirroredStrategy(devices[:count])
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    if not gpus:
        raise ConfigError(f"--gpus {spec}: no GPU is visible to TensorFlow (nvidia-smi, CUDA_VISIBLE_DEVICES)")
    if spec == "all":
        chosen = gpus
    else:
        chosen = []
        for part in spec.split(","):
            index = int(part)
            if index >= len(gpus):
                raise ConfigError(f"--gpus {spec}: GPU {index} does not exist ({len(gpus)} visible)")
            chosen.append(gpus[index])
    return tf.distribute.MirroredStrategy(chosen)


def validate_spec(spec: str) -> None:
    """Syntax only (no TensorFlow): '', 'all', '0,1,...' or 'cpu:N'."""
    if spec in ("", "all"):
        return
    if spec.startswith("cpu:") and spec[4:].isdigit() and int(spec[4:]) >= 1:
        return
    parts = spec.split(",")
    if all(p.strip().isdigit() for p in parts) and len(set(parts)) == len(parts):
        return
    raise ConfigError(f"gpus must be 'all', a list like '0,1', or 'cpu:N', got {spec!r}")
