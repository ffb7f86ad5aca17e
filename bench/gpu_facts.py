"""What bench/gpu_check.py reads: the machine and its software, the run's events, the input wait, the
device's peak memory, and the synthetic data it trains on."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import sys
import time
from pathlib import Path

# The distributions whose versions decide what ran (present ones only are reported).
DISTRIBUTIONS = ("keras", "jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda13-pjrt", "jax-cuda12-plugin",
                 "jax-cuda12-pjrt", "numpy", "ml-dtypes", "optree", "h5py", "scipy", "scikit-learn", "packaging")


def machine_facts() -> dict:
    """Python, Keras' backend, the versions of `DISTRIBUTIONS`, the devices JAX sees (kind and count), the
    runtime behind them (e.g. "cuda 12080"), and the XLA_/JAX_/KERAS_ settings of the environment."""
    import jax
    import jax.extend.backend
    import keras

    versions = {}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    devices = jax.devices()
    return {"python": platform.python_version(), "host": socket.gethostname(), "backend": keras.backend.backend(),
            "keras": keras.__version__, "jax": jax.__version__, "platform": devices[0].platform,
            "devices": [str(getattr(d, "device_kind", d)) for d in devices], "device_count": len(devices),
            "runtime": jax.extend.backend.get_backend().platform_version, "versions": versions,
            "environment": {k: v for k, v in sorted(os.environ.items()) if k.startswith(("XLA_", "JAX_", "KERAS_"))}}


def peak_device_mb() -> float | None:
    """Peak bytes in use on device 0 since the process started (JAX's allocator statistic), in MB; None
    where the platform keeps none (the CPU)."""
    import jax
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return round(peak / 2**20, 1) if peak is not None else None


def write_data(folder: Path, n_train: int, n_test: int) -> Path:
    """Random uint8 images in the genuine CIFAR-10 python format (tests/cifar_writers.py writes the bytes
    the original Python 2 pickles have)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from cifar_writers import make_images, write_python_folder
    return write_python_folder(folder / "cifar-10-batches-py", make_images(n_train, 1), make_images(n_test, 2))


class Capture:
    """A sink that keeps the events the figures are computed from."""

    KEPT = ("run_started", "strategy_started", "batch_end", "epoch_end", "strategy_finished", "strategy_failed",
            "run_finished")

    def __init__(self):
        self.events: list = []

    def __call__(self, event) -> None:
        if event.type in self.KEPT:
            self.events.append(event)

    def _of(self, kind: str, strategy: str | None = None) -> list:
        return [e for e in self.events if e.type == kind and (strategy is None or e.strategy == strategy)]

    def measured_batch(self, strategy: str, phase: str):
        """The last `BatchEnd` of the strategy's last epoch, if that epoch (in `phase`) ran to its end, else
        None. Its images/s count from the epoch's start: compile time (first epoch) and validation are out."""
        started = self._of("strategy_started", strategy)
        last_epoch = started[-1].epochs if started else None
        whole = any(e.epoch == last_epoch and e.phase == phase for e in self._of("epoch_end", strategy))
        batches = [e for e in self._of("batch_end", strategy) if e.phase == phase and e.epoch == last_epoch]
        return batches[-1] if whole and batches else None

    def strategies(self, names) -> dict:
        """Per strategy: its status ("finished", "cancelled" (stopped at the deadline), "failed", "not
        started"), its seconds where it ended, and its error where it failed."""
        out = {}
        for name in names:
            finished, failed = self._of("strategy_finished", name), self._of("strategy_failed", name)
            if failed:
                out[name] = {"status": "failed", "seconds": None, "error": failed[-1].error}
            elif finished:
                out[name] = {"status": finished[-1].status, "seconds": round(finished[-1].seconds, 1)}
            else:
                out[name] = {"status": "started, no end recorded" if self._of("strategy_started", name)
                             else "not started", "seconds": None}
        return out

    def run_status(self) -> str:
        finished = self._of("run_finished")
        return finished[-1].status if finished else "unknown"

    def settings(self) -> dict:
        """What the run says it ran with: precision and XLA as resolved, backend, device."""
        started = self._of("run_started")
        if not started:
            return {}
        env = started[-1].environment
        return {"precision": env.get("precision"), "xla": env.get("jit"), "backend": env.get("backend"),
                "device": env.get("device"), "weights": started[-1].weights.get("label")}


class InputWaitMeter:
    """Host time spent making training batches, per epoch: `ArrayFeeder.__getitem__` timed while inside
    the `with` block (the feeder of every non-TensorFlow backend; Keras calls it on the training thread).
    Under JAX's asynchronous dispatch the device may still be computing meanwhile, so the share of
    training time is an upper bound of the time the device waited for input."""

    def __enter__(self):
        from cifar_tui.engine.data.feeder import ArrayFeeder
        self.cls, self.epochs, self.current = ArrayFeeder, [], 0.0
        self.get, self.end = ArrayFeeder.__getitem__, ArrayFeeder.on_epoch_end
        meter = self

        def timed_get(feeder, index):
            started = time.perf_counter()
            try:
                return meter.get(feeder, index)
            finally:
                if feeder.training:
                    meter.current += time.perf_counter() - started

        def timed_end(feeder):
            if feeder.training:
                meter.epochs.append(meter.current)
                meter.current = 0.0
            return meter.end(feeder)

        ArrayFeeder.__getitem__, ArrayFeeder.on_epoch_end = timed_get, timed_end
        return self

    def __exit__(self, *exc):
        self.cls.__getitem__, self.cls.on_epoch_end = self.get, self.end

    def last_epoch_s(self) -> float | None:
        return self.epochs[-1] if self.epochs else None
