"""The engine under the JAX backend, in a fresh process (the pytest process already runs Keras on TensorFlow).

Run as `python tests/jax_scenarios.py OUT.json DATA_DIR WORK_DIR` without KERAS_BACKEND: the config's
`backend = "jax"` must set it before keras loads. One process for every scenario, to pay JAX's and
Keras' import (and the compiles) once:
1. a tiny scratch run cancelled after its first epoch, then resumed to the end (`cifar-tui resume`'s path);
2. the feature cache under JAX: written once, reused by a second cache object (a new run), and a head
   fitted on the cached-feature batches;
3. which engine module first imported TensorFlow, if any (it should be none once the neutral feeder lands);
4. how many times XLA compiled the scenario 1 steps (train, validation, predict), by function name.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
import traceback
from pathlib import Path

FIRST_TF_IMPORT: list[str] = []


class _WhoImportsTensorFlow:
    """A meta-path finder that only watches: the project frames of the first `import tensorflow`."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" and not FIRST_TF_IMPORT:
            FIRST_TF_IMPORT.extend(f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_stack()
                                   if "/cifar_tui/" in f.filename)
        return None


def run_and_resume(data_dir: str, runs: Path) -> dict:
    from cifar_tui.engine.config.config import ExperimentConfig
    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.run.resume import plan_resume
    from cifar_tui.engine.run.session import record_and_run, resume_and_run
    from cifar_tui.engine.store.reader import load_run

    config = ExperimentConfig(backend="jax", jit=True, strategies=("scratch",), data_dir=data_dir, weights="none",
                              batch_size=16, scratch_epochs=2, test_limit=20, name="jax", checkpoints=True)
    stop = threading.Event()
    events: list = []

    def sink(e):
        events.append(e)
        if isinstance(e, ev.EpochEnd):
            stop.set()  # cancel once the first epoch (and its checkpoint) is done

    first = record_and_run(config, runs, display=sink, stop_event=stop, redirect_native_log=False)
    plan = plan_resume(runs, first.run_id)
    second = resume_and_run(runs, first.run_id, display=events.append, redirect_native_log=False, plan=plan)
    state = load_run(runs, first.run_id).state
    return {"first_status": first.summary["status"], "resumed_from": plan.from_epochs(),
            "status": second.summary["status"], "resumes": state.resumes,
            "scratch": state.strategies["scratch"].status,
            "test_accuracy": second.summary["strategies"]["scratch"].get("test_accuracy"),
            "epochs": [e.epoch for e in events if isinstance(e, ev.EpochEnd)],
            "config_backend": state.config.get("backend"), "environment": state.environment}


def feature_cache(root: Path) -> dict:
    import keras
    import numpy as np

    from cifar_tui.engine.training.feature_cache import FeatureCache, feature_dataset

    inputs = keras.Input((32, 32, 3))
    conv = keras.layers.Conv2D(6, 3, kernel_initializer=keras.initializers.RandomNormal(seed=1))
    pooled = keras.layers.GlobalAveragePooling2D()(conv(inputs))
    extractor = keras.Model(inputs, pooled)
    x = np.random.default_rng(0).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    logs: list[str] = []
    kwargs = dict(image_size=32, input_scaling="raw", precision="float32", batch_size=8, label="t")
    features = [FeatureCache(root, lambda e: logs.append(e.message)).features(extractor, "a" * 64, x,
                                                                             mirrored=m, **kwargs)
                for m in (False, False, True)]
    head = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
    head.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = head.fit(feature_dataset([features[0], features[2]], np.arange(12) % 3, 4, True, seed=1), epochs=2,
                       validation_data=feature_dataset(features[0], np.arange(12) % 3, 4), verbose=0)
    return {"logs": logs, "same": bool(np.array_equal(features[0], features[1])),
            "mirror_differs": not bool(np.allclose(features[0], features[2])),
            "fit_epochs": len(history.history["loss"]), "backend": keras.backend.backend()}


def count_compiles() -> collections.Counter:
    """XLA compiles from now on, by function name (JAX's own event, one per backend compile)."""
    import jax.monitoring

    compiles: collections.Counter = collections.Counter()

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles[kwargs.get("fun_name", "?")] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    return compiles


def main(out: str, data_dir: str, work: str) -> None:
    sys.meta_path.insert(0, _WhoImportsTensorFlow())
    work_dir = Path(work)
    compiles = count_compiles()
    result = {"run": run_and_resume(data_dir, work_dir / "runs")}
    result["run"]["compiles"] = {name: n for name, n in compiles.items() if "_step" in name}
    result["cache"] = feature_cache(work_dir / "runs" / ".feature-cache")
    result["tensorflow_loaded"] = "tensorflow" in sys.modules
    result["first_tensorflow_import"] = FIRST_TF_IMPORT
    Path(out).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:4])
