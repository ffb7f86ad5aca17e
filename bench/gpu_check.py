"""The GPU check (issues #14 part 4, #27): what the JAX backend does with one GPU, within one deadline.

    bash bench/gpu_launch.sh                 # on the lent GPU machine: one device call (docs/gpu.md)
    bash bench/gpu_check.sh --smoke --out R  # here, on the CPU: tiny sizes, keeps it working

Full-size synthetic CIFAR-10 (50,000 + 10,000 random images, written in the genuine python-pickle format
and read back through the engine's own loader), random init (no ImageNet weights can be downloaded there).
Phases, most wanted first, each started only with time left and stopped at the one overall deadline:
1. extraction: images/s through the frozen EfficientNetB0 at 224 px (inference, the feature cache's
   extractor), after a warm-up batch; the NVIDIA inference anchor's counterpart;
2. throughput, per strategy (finetune, frozen with the backbone run live, scratch): training images/s over
   the last epoch's training batches (compile time and validation excluded) and the share of that time
   the step loop spent making input batches; finetune is the NVIDIA training anchor's counterpart;
3. the whole `paper`-shaped run (every strategy, full data, 224 px, cached frozen features): its wall
   time and each strategy's status and seconds.
The results JSON (`--out`) is rewritten after every phase (bench/gpu_results.py): it says what ran
(precision, XLA, backend, versions, device), every phase's status, seconds and XLA compiles, and only
figures measured in this run. Anchors (NVIDIA DeepLearningExamples, TF2 EfficientNet-B0, one A100, AMP +
XLA): training 3,454 img/s, inference 9,730 img/s; none is published for the H100 or H200.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.gpu_facts import Capture, InputWaitMeter, machine_facts, peak_device_mb, write_data
from bench.gpu_results import CompileCounter, Deadline, Results

ANCHORS = {"a100_train_img_s": 3454.0, "a100_infer_img_s": 9730.0,
           "source": "NVIDIA DeepLearningExamples, TensorFlow2 EfficientNet-B0, 1x A100 80GB, AMP + XLA; "
                     "no published H100 or H200 figure"}
BUDGET_S = 270.0  # the launch's default: two tries of one call each fit the GPU machine's 15 minutes
GRACE_S = 10.0  # after the deadline, a phase that has not returned is recorded as killed
MIN_PHASE_S = 10.0  # a phase is not started with less time left than this
SIZES = {
    "full": dict(n_train=50_000, n_test=10_000, image_size=224, throughput_images=12_800, extract_images=20_000,
                 batch_size=128),
    "smoke": dict(n_train=400, n_test=100, image_size=32, throughput_images=200, extract_images=200,
                  batch_size=50),
}
STRATEGIES = ("finetune", "frozen", "scratch")  # the throughput phase's order: the anchored one first


def _config(data_dir: Path, **knobs):
    from cifar_tui.engine.config.config import ExperimentConfig
    base = dict(dataset="cifar10", data_dir=str(data_dir), weights="none", backend="jax", checkpoints=False,
                finetune_analysis=False)
    base.update(knobs)
    return ExperimentConfig(**base)


def throughput(data_dir: Path, size: dict, strategy: str, stop) -> dict:
    """Two epochs over `throughput_images` images at the full size; the last one is measured."""
    from cifar_tui.engine.run.runner import run_experiment
    px, n, batch = size["image_size"], size["throughput_images"], size["batch_size"]
    phase = "finetune" if strategy == "finetune" else "train"
    sink = Capture()
    config = _config(data_dir, strategies=(strategy,), train_per_class=n // 10, test_limit=100,
                     scratch_image_size=px, transfer_image_size=px, batch_size=batch,
                     scratch_epochs=2, frozen_epochs=2, head_epochs=1, finetune_epochs=2,
                     seed=0, **({} if strategy == "scratch" else {"frozen_features": "live"}))
    with InputWaitMeter() as meter:
        run_experiment(config, sink, stop)
    last = sink.measured_batch(strategy, phase)  # None unless the measured epoch ran to its end
    waited = meter.last_epoch_s()
    train_s = last.step * batch / last.images_per_s if last and last.images_per_s else None
    status = sink.strategies((strategy,))[strategy]
    return {"strategy": status, "stopped": status["status"] == "cancelled", "image_size": px, "batch_size": batch,
            "train_img_s": round(last.images_per_s, 1) if last else None,
            "input_share_upper_bound": round(waited / train_s, 4) if waited and train_s else None,
            "settings": sink.settings()}


def extraction(size: dict, stop) -> dict:
    """Images/s through the frozen EfficientNetB0 at the full size (the feature cache's extractor: the
    transfer model up to its pooling, uint8 32-px batches resized in the model), after a warm-up batch."""
    import jax
    import keras

    from cifar_tui.engine.config.config import ExperimentConfig
    from cifar_tui.engine.models.backbone import resolve_weights
    from cifar_tui.engine.models.transfer import transfer_model
    from cifar_tui.engine.training.callbacks import StopOnRequest
    from cifar_tui.engine.training.feature_cache import extract, pooled_extractor
    px, n, batch = size["image_size"], size["extract_images"], size["batch_size"]
    config = ExperimentConfig(transfer_image_size=px, weights="none", backend="jax")
    # as a run's precision "auto" resolves: mixed (float16 compute) on a GPU, float32 elsewhere
    precision = "mixed" if jax.devices()[0].platform == "gpu" else "float32"
    keras.mixed_precision.set_dtype_policy("mixed_float16" if precision == "mixed" else "float32")
    try:
        model = transfer_model(config, 10, resolve_weights("none"))[0]
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    extractor = pooled_extractor(model)
    images = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    extract(extractor, images[:batch], batch)  # compile
    started = time.perf_counter()
    rows = len(extract(extractor, images, batch, callbacks=[StopOnRequest(stop)]))
    seconds = time.perf_counter() - started
    return {"img_s": round(n / seconds, 1) if rows == n else None, "stopped": rows < n, "images": rows,
            "image_size": px, "batch_size": batch, "precision": precision,
            "xla": getattr(extractor, "jit_compile", None)}  # predict's setting, as Keras resolved it


def paper_run(data_dir: Path, smoke: bool, stop, strategies: tuple[str, ...]) -> dict:
    """The paper preset on the full synthetic set, stopped (and said so) at the deadline."""
    from cifar_tui.engine.config.presets import preset_config
    from cifar_tui.engine.run.runner import run_experiment
    knobs = dict(dataset="cifar10", data_dir=str(data_dir), weights="none", backend="jax", checkpoints=False,
                 strategies=strategies)
    if smoke:
        knobs.update(transfer_image_size=32, scratch_epochs=1, frozen_epochs=1, head_epochs=1, finetune_epochs=1,
                     batch_size=50)
    config = preset_config("paper", **knobs)
    sink = Capture()
    started = time.perf_counter()
    run_experiment(config, sink, stop)
    return {"wall_s": round(time.perf_counter() - started, 1), "run_status": sink.run_status(),
            "stopped": stop.is_set(), "strategies": sink.strategies(strategies), "batch_size": config.batch_size,
            "transfer_image_size": config.transfer_image_size, "settings": sink.settings()}


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="bench.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (a CPU check that the script works)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help="comma-separated subset (CI's smoke check runs scratch alone)")
    parser.add_argument("--out", type=Path, help="the results JSON, rewritten after every phase")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S,
                        help=f"the overall deadline, seconds from now (default {BUDGET_S:g})")
    parser.add_argument("--deadline-at", type=float, help="the overall deadline as a Unix time (wins)")
    return parser.parse_args(argv)


def _refusal(args) -> str | None:
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not strategies or set(strategies) - set(STRATEGIES):
        return f"--strategies takes scratch, frozen, finetune; got {args.strategies!r}"
    # Checked before keras is imported (importing it on TensorFlow takes seconds and writes to stderr).
    if os.environ.get("KERAS_BACKEND", "").strip().lower() != "jax":
        asked = os.environ.get("KERAS_BACKEND") or "the default (tensorflow)"
        return f"runs on the JAX backend (KERAS_BACKEND=jax), not {asked}"
    if args.out is not None and not args.out.parent.is_dir():
        return f"--out {args.out}: no folder {args.out.parent}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    refusal = _refusal(args)
    if refusal:
        print(f"gpu_check: {refusal}", file=sys.stderr)
        return 2
    deadline = Deadline(args.budget_s, args.deadline_at)
    chosen = [s.strip() for s in args.strategies.split(",") if s.strip()]
    strategies = tuple(s for s in STRATEGIES if s in chosen)
    size = SIZES["smoke" if args.smoke else "full"]
    results = Results(args.out, {"issue": 27, "what": "bench/gpu_check.py", "size": "smoke" if args.smoke else "full",
                                 "budget_s": round(deadline.left(), 1), "sizes": size, "anchors": ANCHORS},
                      deadline)
    results.start_watchdog(GRACE_S)  # before the imports: a hang anywhere still ends with a file
    results.write()
    started = time.perf_counter()
    results.data["machine"] = machine_facts()  # imports Keras and JAX
    results.compiles = CompileCounter()
    results.write()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = None
        with results.phase("data") as (record, _stop):
            data_dir = write_data(Path(tmp), size["n_train"], size["n_test"])
            record.update(train=size["n_train"], test=size["n_test"])
        with results.phase("extraction", MIN_PHASE_S) as (record, stop):
            if record is not None:
                record.update(extraction(size, stop))
        for strategy in strategies if data_dir else ():
            with results.phase(f"throughput:{strategy}", MIN_PHASE_S) as (record, stop):
                if record is not None:
                    record.update(throughput(data_dir, size, strategy, stop))
        with results.phase("paper_run", MIN_PHASE_S) as (record, stop):
            if record is not None and data_dir:
                record.update(paper_run(data_dir, args.smoke, stop, strategies))
    results.finish(peak_device_mb=peak_device_mb(), total_s=round(time.perf_counter() - started, 1))
    print(json.dumps(results.data, indent=2))
    return 1 if results.failures() else 0


if __name__ == "__main__":
    raise SystemExit(main())
