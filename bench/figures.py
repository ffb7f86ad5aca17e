"""The benchmark's figures, one function each. Ratios are measured side by side in one process,
alternating the two sides, as the median of the per-pair ratios: on these shared machines a stretch of
seconds to minutes is sometimes slowed 2x by something outside the process (seen: the same bare fit
alternating 100 and 200 img/s). The two measurements of a pair run back to back and mostly share such a
stretch, and the median ignores the pairs a slowdown split. Speeds (img/s) are the best of their side."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

# pipeline_images: the feeder's pass over them is timed (uint8 gathers only: short; the best of 3 passes)
# effnet_eager (smoke only): the same model and train_on_batch, run eagerly, since tracing EfficientNetB0's
# training step takes ~45 s on a 2-core machine and a smoke figure is not meant to be read.
SIZES = {"full": dict(train=1024, repeats=7, effnet_steps=6, effnet_size=224, rss_images=50_000, runs=1000,
                      pipeline_images=4096, effnet_eager=False, frozen_images=2000, frozen_px=96, frozen_epochs=5,
                      study_cells=5),
         "smoke": dict(train=128, repeats=1, effnet_steps=1, effnet_size=32, rss_images=512, runs=20,
                       pipeline_images=128, effnet_eager=True, frozen_images=100, frozen_px=32, frozen_epochs=1,
                       study_cells=5)}


def alternate(side_a, side_b, repeats: int) -> tuple[float, float, float]:
    """`repeats` alternating measurements of two zero-argument functions returning a rate: the median of
    the per-pair ratios b / a, and the best rate of each side."""
    a, b = [], []
    for _ in range(repeats):
        a.append(side_a())
        b.append(side_b())
    return statistics.median(y / x for x, y in zip(a, b, strict=True)), max(a), max(b)


def _images(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), (np.arange(n) % 10).astype(np.int64)


def _scratch_model():
    import keras

    from cifar_tui.engine.models.scratch import scratch_cnn

    model = scratch_cnn(32, 10, 0.2, "flip+translate", seed=0)  # augments inside, as in a run
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _engine_callbacks(sink, n_train: int, steps: int, checkpoints: Path | None = None):
    """What the engine attaches to every fit: events, best-epoch tracking, the stop check, and (with a
    folder) the epoch checkpoint a resume needs."""
    from cifar_tui.engine.training.callbacks import BestEpoch, EventEmitter, StopOnRequest
    from cifar_tui.engine.training.checkpoints import Checkpointer

    stop = threading.Event()
    emitter = EventEmitter(sink, "scratch", "train", 1, steps, 64, n_train, stop)
    best = BestEpoch(stop)
    best.emitter = emitter
    callbacks = [emitter, best]
    if checkpoints is not None:
        saver = Checkpointer(checkpoints, "scratch", 0, best, stop)
        saver.start_phase("train", 1e-3, emitter)
        callbacks.append(saver)
    return [*callbacks, StopOnRequest(stop)]


def engine_overhead_ratio(size: dict) -> dict:
    """Engine's fit (its callbacks, events, the run store writing, the epoch checkpoint) / a bare model.fit,
    same model and data; with both sides' training speeds (32-px scratch CNN)."""
    from cifar_tui.engine.data.feeder import make_feeder
    from cifar_tui.engine.run.events import RunStarted
    from cifar_tui.engine.store.recorder import RunRecorder

    x, y = _images(size["train"])
    train = make_feeder(x, y, 64, training=True)
    val = make_feeder(x[:256], y[:256], 64, training=False)
    model = _scratch_model()
    model.fit(train, validation_data=val, epochs=1, verbose=0, shuffle=False)  # graph build, not measured
    steps = -(-len(x) // 64)
    with tempfile.TemporaryDirectory() as runs:
        recorder = RunRecorder(Path(runs), "bench-run")
        recorder(RunStarted(run_id="bench-run", config={"strategies": ["scratch"]}, environment={}, dataset={},
                            weights={}))

        def timed(callbacks):
            def run() -> float:
                start = time.perf_counter()
                model.fit(train, validation_data=val, epochs=1, verbose=0, shuffle=False, callbacks=callbacks())
                return len(x) / (time.perf_counter() - start)
            return run

        checkpoints = Path(runs) / "bench-run" / "checkpoints" / "scratch"
        ratio, bare, engine = alternate(timed(lambda: []),
                                 timed(lambda: _engine_callbacks(recorder, len(x), steps, checkpoints)),
                                 size["repeats"])
        recorder.close()
    return {"engine_overhead_ratio": ratio, "bare_fit_32_img_per_s": bare, "engine_fit_32_img_per_s": engine}


def tui_overhead_ratio(size: dict) -> float:
    """Training throughput with the app attached (headless run_test, events posted to it) / without."""
    from cifar_tui.app.app import CifarTuiApp
    from cifar_tui.app.messages import posting_sink
    from cifar_tui.engine.data.feeder import make_feeder

    x, y = _images(size["train"])
    train = make_feeder(x, y, 64, training=True)
    model = _scratch_model()
    model.fit(train, epochs=1, verbose=0, shuffle=False)
    steps = -(-len(x) // 64)

    def fit_rate(sink) -> float:
        start = time.perf_counter()
        model.fit(train, epochs=1, verbose=0, shuffle=False, callbacks=_engine_callbacks(sink, len(x), steps))
        return len(x) / (time.perf_counter() - start)

    async def with_app() -> float:
        app = CifarTuiApp(Path(tempfile.mkdtemp()))
        async with app.run_test(size=(140, 45)) as pilot:
            app.live_run_id = "bench"
            await pilot.pause(1.0)  # the app's start-up is not training overhead: let it settle first
            result: list[float] = []
            thread = threading.Thread(target=lambda: result.append(fit_rate(posting_sink(app, "bench"))))
            thread.start()
            # Wait with a plain sleep: `pilot.pause` also waits for every widget's queue to drain, harness
            # work (growing with the widget count) that a real session never does.
            while thread.is_alive():
                await asyncio.sleep(0.05)
            return result[0]

    return _ratio_of(lambda: asyncio.run(with_app()), lambda: fit_rate(lambda e: None), size["repeats"])


def _ratio_of(side_with, side_without, repeats: int) -> float:
    return alternate(side_without, side_with, repeats)[0]


def feeder_figures(size: dict) -> dict:
    """Input never the bottleneck at 224 px: the feeder's uint8 batches/s against fine-tuning steps/s of a
    model that augments and resizes inside itself, and the share of step time spent waiting for input in a
    loop that takes each batch from the feeder, then trains on it (what fit does)."""
    import keras

    from cifar_tui.engine.data.feeder import make_feeder
    from cifar_tui.engine.models.backbone import build_backbone, resolve_weights
    from cifar_tui.engine.models.preprocessing import model_input, preprocess

    x, y = _images(size["pipeline_images"])

    def rate(feeder) -> float:
        start, n = time.perf_counter(), 0
        for batch, _labels in feeder:
            n += int(batch.shape[0])
        return n / (time.perf_counter() - start)

    feeder = make_feeder(x, y, 16, training=True, seed=0)
    rate(feeder)  # warm-up
    feeder_rate = max(rate(feeder) for _ in range(3))

    side = size["effnet_size"]
    backbone = build_backbone(side, resolve_weights("none"))
    inputs = model_input()
    features = backbone(preprocess(inputs, side, "flip+translate", seed=0), training=False)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(features))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy",
                  run_eagerly=size["effnet_eager"])
    batches = iter(make_feeder(x, y, 16, training=True, seed=1))
    model.train_on_batch(*next(batches))  # graph build
    waited = trained = 0.0
    for _ in range(size["effnet_steps"]):
        start = time.perf_counter()
        images, labels = next(batches)
        got = time.perf_counter()
        model.train_on_batch(images, labels)
        waited, trained = waited + got - start, trained + time.perf_counter() - got
    step_rate = 16 * size["effnet_steps"] / trained
    return {"feeder_headroom_224": feeder_rate / step_rate, "input_wait_share_224": waited / (waited + trained),
            "feeder_uint8_img_per_s": feeder_rate, "finetune_step_224_img_per_s": step_rate}


# VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve, so a child would report its parent's peak.
# An epoch of the feeder, each batch resized to 224 by the models' own `Resize` layer (the model's first
# layer; on a GPU it runs there, here on the CPU, in this process).
PEAK_RSS_SCRIPT = """
import sys, numpy as np
from cifar_tui.engine.runtime.allocator import keep_freed_memory
keep_freed_memory()  # as in every training process of the product (cifar_tui.engine.run.runner)
from cifar_tui.engine.data.feeder import make_feeder
from cifar_tui.engine.models.preprocessing import Resize
n = int(sys.argv[1])
x = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
y = np.arange(n) % 10
resize = Resize(224)
for batch, labels in make_feeder(x, y, 64, training=True):
    resize(batch)
status = open("/proc/self/status").read()
print(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024)
"""


def peak_rss_figures(size: dict) -> dict:
    """Peak RSS (MB) of an epoch of `rss_images` and of a tenth of them: memory flat in the data size."""
    def peak(n: int) -> float:
        out = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT, str(n)], capture_output=True, text=True,
                             check=True)
        return float(out.stdout.strip().splitlines()[-1])

    full, tenth = peak(size["rss_images"]), peak(size["rss_images"] // 10)
    return {"peak_rss_full_cifar_224_mb": full, "peak_rss_tenth_cifar_224_mb": tenth,
            "peak_rss_growth_per_1k_images_mb": (full - tenth) / (0.9 * size["rss_images"] / 1000)}


def _wall(args: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_figures(size: dict) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from events_factory import full_run

    from cifar_tui.engine.store.recorder import RunRecorder

    exe = [sys.executable, "-m", "cifar_tui"]
    with tempfile.TemporaryDirectory() as runs:
        for i in range(size["runs"]):
            run_id = f"20270101-000000-bench-{i:04d}"
            recorder = RunRecorder(Path(runs), run_id, batch_every_s=3600)
            for event in full_run(run_id):
                recorder(event)
            recorder.close()
        listed = subprocess.run([*exe, "runs", "list", "--json", "--runs-dir", runs], capture_output=True,
                                text=True, check=True)
        assert len(json.loads(listed.stdout)) == size["runs"]
        return {"cli_help_s": _wall([*exe, "--help"], 5),
                "runs_list_1000_s": _wall([*exe, "runs", "list", "--runs-dir", runs], 3)}


FIRST_FRAME_SCRIPT = """
import time
start = time.perf_counter()
import asyncio, tempfile
from pathlib import Path
from cifar_tui.app.app import CifarTuiApp

async def main():
    app = CifarTuiApp(Path(tempfile.mkdtemp()))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        print(time.perf_counter() - start)

asyncio.run(main())
"""


def tui_first_frame_s(size: dict) -> float:
    times = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", FIRST_FRAME_SCRIPT], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def screen_figures(size: dict) -> dict:
    """plot_redraw_ms (3 strategies x 100 epochs) and event_to_screen_s (worker post -> panel updated)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from events_factory import run_started, strategy_events

    from cifar_tui.app.app import CifarTuiApp
    from cifar_tui.app.messages import posting_sink
    from cifar_tui.app.widgets.comparison import ComparisonTable
    from cifar_tui.app.widgets.curves import CurvesPlot
    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.run.state import RunState

    state = RunState.from_events([run_started(), *[e for name in ("scratch", "frozen", "finetune")
                                                   for e in strategy_events(name, epochs=100, steps=1,
                                                                            accs=tuple(np.linspace(0.1, 0.9, 100)))]])

    async def measure() -> dict:
        app = CifarTuiApp(Path(tempfile.mkdtemp()))
        async with app.run_test(size=(140, 45)) as pilot:
            plot = app.screen.query_one(CurvesPlot)
            timings = []
            for _ in range(10):
                start = time.perf_counter()
                plot.draw(state)
                plot.render()
                timings.append((time.perf_counter() - start) * 1000)
            app.live_run_id = "bench"
            sink = posting_sink(app, "bench")
            table = app.screen.query_one(ComparisonTable)
            sink(run_started("bench", strategies=("scratch",)))
            await pilot.pause(0.2)
            delays = []
            for epoch in range(1, 6):
                before = table.row_count
                sent = time.perf_counter()
                threading.Thread(target=sink, args=(ev.EpochEnd(
                    strategy="scratch", phase="train", epoch=epoch, epochs=5, loss=1.0, accuracy=0.5, val_loss=1.0,
                    val_accuracy=0.5, learning_rate=1e-3, seconds=1.0, images_per_s=1.0),)).start()
                while app.live_state.strategies["scratch"].epoch < epoch or table.row_count != max(before, 1):
                    await asyncio.sleep(0.001)
                await pilot.pause()
                delays.append(time.perf_counter() - sent)
            return {"plot_redraw_ms": statistics.median(timings), "event_to_screen_s": statistics.median(delays)}

    return asyncio.run(measure())


def gallery_first_paint_s(size: dict) -> float:
    """Seconds from opening a confusion cell's gallery of 24 CIFAR-sized images (reading the run's
    predictions.npz in a worker, drawing the half-block tiles) to its first frame; median of 5, at 140x45."""
    from functools import partial

    from cifar_tui.app.app import CifarTuiApp
    from cifar_tui.app.screens.gallery import GalleryScreen
    from cifar_tui.app.widgets.gallery import GalleryView
    from cifar_tui.engine.analysis.galleries import cell_gallery
    from cifar_tui.engine.analysis.predictions import prediction_arrays
    from cifar_tui.engine.store.predictions import write_predictions

    images, labels = _images(10_000)  # a full test set: the file read is part of the paint
    probabilities = np.full((len(labels), 10), 0.01, np.float32)
    probabilities[np.arange(len(labels)), labels] = 0.91
    cell = np.flatnonzero(labels == 3)[:24]  # 24 cats taken for dogs
    probabilities[cell] = 0.01
    probabilities[cell, 5] = 0.91
    run_dir = Path(tempfile.mkdtemp()) / "bench-run"
    run_dir.mkdir()  # the store makes a run's sub-folders, never the run folder itself (issue #26)
    write_predictions(run_dir, "scratch", prediction_arrays(probabilities, labels, images))
    names = [str(i) for i in range(10)]

    async def measure() -> float:
        app = CifarTuiApp(Path(tempfile.mkdtemp()))
        timings = []
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(5):
                started = time.perf_counter()
                screen = GalleryScreen("bench", partial(cell_gallery, run_dir, "scratch", 3, 5, names))
                app.push_screen(screen)
                while screen.query(GalleryView).first(GalleryView).gallery is None if screen.is_mounted else True:
                    await asyncio.sleep(0.001)
                await pilot.pause()  # the frame with the tiles
                timings.append(time.perf_counter() - started)
                assert len(screen.query_one(GalleryView).gallery.items) == 24
                app.pop_screen()
                await pilot.pause()
        return statistics.median(timings)

    return asyncio.run(measure())


def frozen_cached_figures(size: dict) -> dict:
    """The frozen strategy's wall time (EfficientNetB0 random init with its AdaBN estimate, `frozen_images`
    images split 80/10/10, `frozen_px` px, `frozen_epochs` epochs, batch 64, through `train_strategy` with
    its events, checkpoints off), side by side in one process: live (the backbone on every augmented
    batch) / cached with an empty cache (it pays its extraction: each epoch's augmented images, the
    validation images) = `frozen_cached_speedup`; live / cached with the features already on disk (another
    cell of the study extracted them) = `frozen_cached_reuse_speedup`; and a study of `study_cells` such
    cells: live cost / (one extraction + the rest reusing it) = `frozen_study_speedup`; live / cached without
    translation (`transfer_translate = false`: at most two views per image) = `frozen_cached_flips_speedup`.
    An untimed 1-epoch live run on 256 images goes first, so neither timed side pays the process's one-off
    costs."""
    import dataclasses
    import resource
    import threading

    from cifar_tui.engine.config.config import ExperimentConfig
    from cifar_tui.engine.data.splits import PreparedData
    from cifar_tui.engine.models.backbone import resolve_weights
    from cifar_tui.engine.training.feature_cache import FeatureCache
    from cifar_tui.engine.training.train_strategy import train_strategy

    x, y = _images(size["frozen_images"], seed=3)
    a, b = int(0.8 * len(x)), int(0.9 * len(x))
    data = PreparedData("cifar10", "bench", [str(i) for i in range(10)], x[:a], y[:a], x[a:b], y[a:b], x[b:],
                        y[b:], augmentation="flip+translate")
    config = ExperimentConfig(weights="none", strategies=("frozen",), transfer_image_size=size["frozen_px"],
                              frozen_epochs=size["frozen_epochs"], batch_size=64, checkpoints=False,
                              precision="float32")
    weights = resolve_weights("none")

    def cpu_seconds() -> float:  # this process's CPU time, all threads
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def wall(mode: str, root: Path | None, translate: bool = True) -> tuple[float, float]:
        """(wall seconds, CPU seconds) of one frozen strategy."""
        start, start_cpu = time.perf_counter(), cpu_seconds()
        train_strategy("frozen", config.replace(frozen_features=mode, transfer_translate=translate), data, weights,
                       lambda _e: None, threading.Event(),
                       features=FeatureCache(root, lambda _e: None) if mode == "cached" else None)
        return time.perf_counter() - start, cpu_seconds() - start_cpu

    # Untimed first: a process's first model pays one-off costs (TensorFlow's runtime, oneDNN's kernels for
    # these shapes) that the first timed side would otherwise carry alone.
    train_strategy("frozen", config.replace(frozen_features="live", frozen_epochs=1),
                   dataclasses.replace(data, x_train=data.x_train[:256], y_train=data.y_train[:256]), weights,
                   lambda _e: None, threading.Event())
    with tempfile.TemporaryDirectory() as folder:
        (live, live_cpu), (cold, cold_cpu) = wall("live", None), wall("cached", Path(folder))
        warm, _ = wall("cached", Path(folder))
    with tempfile.TemporaryDirectory() as folder:
        flips, flips_cpu = wall("cached", Path(folder), translate=False)
    cells = size["study_cells"]
    return {"frozen_cached_speedup": live / cold, "frozen_cached_reuse_speedup": live / warm,
            "frozen_study_speedup": cells * live / (cold + (cells - 1) * warm),
            "frozen_live_s": live, "frozen_cached_s": cold, "frozen_cached_reused_s": warm,
            # the same ratio in CPU seconds: this 2-vCPU machine sometimes runs a process on one core for
            # seconds at a time, which moves wall times by a third; CPU time shows the work saved
            "frozen_cached_cpu_speedup": live_cpu / cold_cpu,
            "frozen_cached_flips_speedup": live / flips, "frozen_cached_flips_cpu_speedup": live_cpu / flips_cpu}
