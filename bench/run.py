"""`make bench`: measure the figures the tool promises, write bench/results.json, print a table.

    python -m bench.run            # the full benchmark, sized to finish in under 10 minutes on 2 cores
    python -m bench.run --smoke    # tiny sizes, seconds: keeps the script from rotting (run by the tests)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import figures  # noqa: E402
from cifar_tui.engine.runtime.allocator import keep_freed_memory  # noqa: E402

# figure: (target, "min" = at least / "max" = at most)
TARGETS = {
    "engine_overhead_ratio": (0.97, "min"),
    "tui_overhead_ratio": (0.95, "min"),
    "feeder_headroom_224": (5.0, "min"),
    "input_wait_share_224": (0.05, "max"),
    "peak_rss_full_cifar_224_mb": (2500.0, "max"),
    "peak_rss_growth_per_1k_images_mb": (20.0, "max"),  # 224-px float32 images kept would be 602
    "cli_help_s": (0.5, "max"),
    "runs_list_1000_s": (1.0, "max"),
    "tui_first_frame_s": (1.5, "max"),
    "plot_redraw_ms": (20.0, "max"),
    "event_to_screen_s": (0.5, "max"),
    "gallery_first_paint_s": (0.3, "max"),
    "frozen_cached_speedup": (3.0, "min"),
}


def measure(size: dict, only: set[str] | None = None) -> dict:
    results: dict = {}
    steps = [
        ("cli", lambda: figures.cli_figures(size)),
        ("screen", lambda: figures.screen_figures(size)),
        ("tui_first_frame_s", lambda: figures.tui_first_frame_s(size)),
        ("gallery_first_paint_s", lambda: figures.gallery_first_paint_s(size)),
        ("engine_overhead_ratio", lambda: figures.engine_overhead_ratio(size)),
        ("tui_overhead_ratio", lambda: figures.tui_overhead_ratio(size)),
        ("feeder", lambda: figures.feeder_figures(size)),
        ("peak_rss", lambda: figures.peak_rss_figures(size)),
        ("frozen_cached", lambda: figures.frozen_cached_figures(size)),
    ]
    for name, step in steps:
        if only and name not in only:
            continue
        started = time.perf_counter()
        value = step()
        results.update(value if isinstance(value, dict) else {name: value})
        print(f"  measured {name} in {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    return results


def verdict(name: str, value: float) -> str:
    if name not in TARGETS:
        return ""
    target, kind = TARGETS[name]
    ok = value >= target if kind == "min" else value <= target
    return f"{'>=' if kind == 'min' else '<='} {target:g}  {'ok' if ok else 'MISSES'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds); figures are not meaningful")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results.json"))
    parser.add_argument("--only", nargs="*", help="measure only these steps (cli, screen, tui_first_frame_s, "
                        "engine_overhead_ratio, tui_overhead_ratio, feeder, peak_rss, "
                        "frozen_cached) and update the other figures' values from the existing results file")
    args = parser.parse_args(argv)
    size = figures.SIZES["smoke" if args.smoke else "full"]
    # Both sides of every ratio run under the allocator setting of the product's training processes
    # (cifar_tui.engine.run.runner applies it
    # before a run's first allocation); CIFAR_TUI_MALLOC=system measures without.
    allocator = keep_freed_memory()
    started = time.time()
    results = measure(size, set(args.only) if args.only else None)
    if args.only and Path(args.out).exists():
        previous = json.loads(Path(args.out).read_text())
        results = {k: previous[k] for k in previous if k in TARGETS or k.endswith("_per_s")} | results
    import keras
    import tensorflow as tf

    record = {
        **results,
        "mode": "smoke" if args.smoke else "full",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "seconds": round(time.time() - started, 1),
        "allocator": allocator,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "tensorflow": tf.__version__, "keras": keras.__version__,
                    "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]},
        "targets": {k: {"target": t, "kind": kind} for k, (t, kind) in TARGETS.items()},
    }
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(f"{'figure':<30} {'value':>12}  target")
    for name, value in results.items():
        print(f"{name:<30} {value:>12.3f}  {verdict(name, value)}")
    print(f"written to {args.out} ({record['seconds']:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
