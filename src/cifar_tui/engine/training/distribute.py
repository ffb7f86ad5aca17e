"""Several devices: `tf.distribute` strategies chosen from the `gpus` knob and the environment.

- `gpus = ""` (default): one device, no strategy (Keras places the model on the first GPU, or the CPU).
- `gpus = "all"` or `"0,1"`: `MirroredStrategy` over those GPUs: the model is replicated, each replica
  takes `batch_size` images per step, so the global batch is `batch_size x replicas`, and gradients are
  summed across replicas. Learning rates are scaled by the number of replicas (the linear scaling rule of
  Goyal et al., 2017) unless `scale_lr` is off.
- Several hosts are not supported: `MultiWorkerMirroredStrategy` would need one run recorded by the chief,
  evaluation gathered across workers and stops reaching every worker, none of which exists. A `TF_CONFIG`
  in the environment is refused rather than silently ignored. Across a cluster, the unit of work is a study
  cell (`cifar-tui study SPEC --executor slurm`), one GPU or one host each.
- `gpus = "cpu:N"`: split the CPU into N logical devices and mirror over them. Slower than one CPU device;
  it exists so the distributed code path can be tested without GPUs (and it must run before TensorFlow
  has touched a device, so in a fresh process).
"""

from __future__ import annotations

import os

from cifar_tui.engine.errors import ConfigError


def describe(spec: str) -> str:
    return f"MirroredStrategy over {spec}" if spec else ""


def make_strategy(spec: str):
    """The tf.distribute strategy for `spec`, or None for the default single device (any backend: TensorFlow
    is imported only for a distribution, which the config allows on the TensorFlow backend alone)."""
    refuse_multi_host()
    if not spec:
        return None
    import tensorflow as tf

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


def refuse_multi_host() -> None:
    if os.environ.get("TF_CONFIG"):
        raise ConfigError("TF_CONFIG is set, but multi-host training is not supported (one run per host or GPU; "
                          "many runs on a cluster: cifar-tui study SPEC --executor slurm); unset TF_CONFIG")


def validate_spec(spec: str) -> None:
    """Syntax only (no TensorFlow): '', 'all', '0,1,...' or 'cpu:N'; and no TF_CONFIG (see the module doc)."""
    refuse_multi_host()
    if spec in ("", "all"):
        return
    if spec.startswith("cpu:") and spec[4:].isdigit() and int(spec[4:]) >= 1:
        return
    parts = spec.split(",")
    if all(p.strip().isdigit() for p in parts) and len(set(parts)) == len(parts):
        return
    raise ConfigError(f"gpus must be 'all', a list like '0,1', or 'cpu:N', got {spec!r}")
