"""The GPU check of issue #14 part 4: what the JAX backend does with one GPU, in under 8 minutes.

    bash bench/gpu_check.sh [--out bench/results-gpu.json]   # on the GPU machine (see the script's header)
    python -m bench.gpu_check --smoke                          # here, on the CPU: tiny sizes, keeps it working

Full-size synthetic CIFAR-10 (50,000 + 10,000 random images, written in the genuine python-pickle format
and read back through the engine's own loader), random init (no ImageNet weights can be downloaded there),
and for each strategy:
- training throughput at 224 px (images/s over the last epoch's training batches: compile time and
  validation excluded), with the frozen backbone run live so that the figure is the network's;
- the share of that training time the step loop spent waiting for the next input batch;
- the frozen backbone's feature-extraction rate (images/s through EfficientNetB0 at 224, inference);
then the whole `paper`-shaped run (the paper preset: every strategy, full data, 224 px, cached frozen
features), its wall time, and the device's peak memory.

Anchors (NVIDIA DeepLearningExamples, TF2 EfficientNet-B0, one A100, AMP + XLA): training 3,454 img/s,
inference 9,730 img/s. The printed JSON is what goes into bench/results-gpu.json; nothing is written unless
`--out` is given, and only figures measured in this run are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ANCHORS = {"a100_train_img_s": 3454.0, "a100_infer_img_s": 9730.0,
           "source": "NVIDIA DeepLearningExamples, TensorFlow2 EfficientNet-B0, 1x A100 80GB, AMP + XLA"}
BUDGET_S = 480.0  # the limit for the whole check on one H200
SIZES = {
    "full": dict(n_train=50_000, n_test=10_000, image_size=224, throughput_images=12_800, extract_images=20_000,
                 batch_size=128),
    "smoke": dict(n_train=400, n_test=100, image_size=32, throughput_images=200, extract_images=200,
                  batch_size=50),
}


def _device_info() -> dict:
    import jax
    devices = jax.devices()
    return {"jax": jax.__version__, "platform": devices[0].platform,
            "devices": [str(getattr(d, "device_kind", d)) for d in devices]}


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

    def __init__(self):
        self.events: list = []

    def __call__(self, event) -> None:
        if event.type in ("run_started", "batch_end", "epoch_end", "strategy_finished", "strategy_failed",
                          "run_finished", "phase_started"):
            self.events.append(event)

    def last_epoch_rate(self, strategy: str, phase: str) -> float | None:
        """Training images/s at the last batch of the phase's last epoch (the callback measures from the
        epoch's start: compile time, which falls in the first epoch, and validation are excluded)."""
        batches = [e for e in self.events if e.type == "batch_end" and e.strategy == strategy and e.phase == phase]
        return round(batches[-1].images_per_s, 1) if batches else None

    def train_images(self) -> int | None:
        """Training images of the run (its validation split held out), as its `run_started` event says."""
        started = [e for e in self.events if e.type == "run_started"]
        return started[-1].dataset.get("train") if started else None

    def failure(self) -> str:
        return "; ".join(f"{e.strategy}: {e.error}" for e in self.events if e.type == "strategy_failed")


class InputWaitMeter:
    """Host time spent making training batches, per epoch: `ArrayFeeder.__getitem__` timed while inside
    the `with` block (the feeder of every non-TensorFlow backend; Keras calls it on the training thread).
    Under JAX's asynchronous dispatch the device may still be computing meanwhile, so the share of
    training time is an upper bound of the time the device waited for input."""

    def __enter__(self):
        from engine.data.feeder import ArrayFeeder
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


def _config(data_dir: Path, **knobs):
    from engine.config import ExperimentConfig
    base = dict(dataset="cifar10", data_dir=str(data_dir), weights="none", backend="jax", checkpoints=False,
                finetune_analysis=False)
    base.update(knobs)
    return ExperimentConfig(**base)


def throughput(data_dir: Path, size: dict, strategies: tuple[str, ...]) -> dict:
    """Per strategy, two epochs over `throughput_images` images at the full size; the second is measured."""
    from engine.runner import run_experiment
    out = {}
    px, n = size["image_size"], size["throughput_images"]
    phases = {"scratch": "train", "frozen": "train", "finetune": "finetune"}
    for strategy in strategies:
        phase = phases[strategy]
        sink = Capture()
        config = _config(data_dir, strategies=(strategy,), train_per_class=n // 10, test_limit=100,
                         scratch_image_size=px, transfer_image_size=px, batch_size=size["batch_size"],
                         scratch_epochs=2, frozen_epochs=2, head_epochs=1, finetune_epochs=2,
                         seed=0, **({} if strategy == "scratch" else {"frozen_features": "live"}))
        with InputWaitMeter() as meter:
            run_experiment(config, sink)
        rate, waited = sink.last_epoch_rate(strategy, phase), meter.last_epoch_s()
        # the measured epoch's training time: its images over the rate of its last batch
        train_s = sink.train_images() / rate if rate and sink.train_images() else None
        out[strategy] = {"train_img_s": rate, "image_size": px, "error": sink.failure() or None,
                         "input_share_upper_bound": round(waited / train_s, 4) if waited and train_s else None}
    return out


def extraction_rate(size: dict) -> float:
    """Images/s through the frozen EfficientNetB0 at the full size (the feature cache's extractor: the
    transfer model up to its pooling, uint8 32-px batches resized in the model), after a warm-up pass."""
    from engine.config import ExperimentConfig
    from engine.models.backbone import resolve_weights
    from engine.models.transfer import transfer_model
    from engine.training.feature_cache import extract, pooled_extractor
    px, n, batch = size["image_size"], size["extract_images"], size["batch_size"]
    import jax
    import keras
    config = ExperimentConfig(transfer_image_size=px, weights="none", backend="jax")
    # as a run's precision "auto" resolves: mixed (float16 compute) on a GPU, float32 elsewhere
    gpu = jax.devices()[0].platform == "gpu"
    keras.mixed_precision.set_dtype_policy("mixed_float16" if gpu else "float32")
    model = transfer_model(config, 10, resolve_weights("none"))[0]
    keras.mixed_precision.set_dtype_policy("float32")
    extractor = pooled_extractor(model)
    images = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    extract(extractor, images[:batch], batch)  # compile
    started = time.perf_counter()
    extract(extractor, images, batch)
    return round(n / (time.perf_counter() - started), 1)


def paper_run(data_dir: Path, smoke: bool, deadline: float, strategies: tuple[str, ...]) -> dict:
    """The paper preset on the full synthetic set; stopped (and said so) if it would pass the budget."""
    from engine.presets import preset_config
    from engine.runner import run_experiment
    knobs = dict(dataset="cifar10", data_dir=str(data_dir), weights="none", backend="jax", checkpoints=False,
                 strategies=strategies)
    if smoke:
        knobs.update(transfer_image_size=32, scratch_epochs=1, frozen_epochs=1, head_epochs=1, finetune_epochs=1,
                     batch_size=50)
    config = preset_config("paper", **knobs)
    stop = threading.Event()
    timer = threading.Timer(max(1.0, deadline - time.monotonic()), stop.set)
    timer.start()
    sink = Capture()
    started = time.perf_counter()
    try:
        run_experiment(config, sink, stop)
    finally:
        timer.cancel()
    wall = time.perf_counter() - started
    finished = [e for e in sink.events if e.type == "run_finished"]
    return {"wall_s": round(wall, 1), "status": finished[-1].status if finished else "unknown",
            "strategy_s": {e.strategy: round(e.seconds, 1) for e in sink.events if e.type == "strategy_finished"},
            "error": sink.failure() or None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (a CPU check that the script works)")
    parser.add_argument("--strategies", default="scratch,frozen,finetune",
                        help="comma-separated subset (the suite's smoke test runs scratch alone)")
    parser.add_argument("--out", type=Path, help="write the results JSON here (e.g. bench/results-gpu.json)")
    args = parser.parse_args(argv)
    strategies = tuple(s.strip() for s in args.strategies.split(",") if s.strip())
    if not strategies or set(strategies) - {"scratch", "frozen", "finetune"}:
        print(f"gpu_check: --strategies takes scratch, frozen, finetune; got {args.strategies!r}", file=sys.stderr)
        return 2
    # Checked before keras is imported (importing it on TensorFlow takes seconds and writes to stderr).
    if os.environ.get("KERAS_BACKEND", "").strip().lower() != "jax":
        asked = os.environ.get("KERAS_BACKEND") or "the default (tensorflow)"
        print(f"gpu_check: runs on the JAX backend (KERAS_BACKEND=jax), not {asked}", file=sys.stderr)
        return 2
    import keras
    size = SIZES["smoke" if args.smoke else "full"]
    deadline = time.monotonic() + BUDGET_S - 20  # leave time to write the results
    results: dict = {"issue": 14, "what": "bench/gpu_check.py", "size": "smoke" if args.smoke else "full",
                     "machine": {"python": platform.python_version(), "keras": keras.__version__,
                                 **_device_info()}, "anchors": ANCHORS}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = write_data(Path(tmp), size["n_train"], size["n_test"])
        results["throughput"] = throughput(data_dir, size, strategies)
        results["extract_img_s"] = extraction_rate(size)
        results["paper_run"] = paper_run(data_dir, args.smoke, deadline, strategies)
    results["peak_device_mb"] = peak_device_mb()
    results["total_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
