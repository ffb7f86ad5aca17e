"""The GPU check's results in a few lines, beside NVIDIA's anchors; with --require-complete, a check of
them (the CI rehearsal's): every phase done, every strategy finished, every figure measured.

    python -m bench.gpu_summary RESULTS.json [--require-complete]

Plain json: runs with any Python 3, no Keras or JAX.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _rate(value) -> str:
    return f"{value:,.0f} img/s" if isinstance(value, (int, float)) else "not measured"


def summary_lines(results: dict) -> list[str]:
    machine, anchors = results.get("machine", {}), results.get("anchors", {})
    versions = machine.get("versions", {})
    lines = [f"GPU check ({results.get('size')}): {results.get('status')}, {results.get('total_s', '?')} s; "
             f"{', '.join(machine.get('devices', [])) or 'no device recorded'} ({machine.get('runtime', '?')}); "
             f"python {machine.get('python')}, keras {machine.get('keras')}, jax {machine.get('jax')}, "
             f"jaxlib {versions.get('jaxlib', '?')}"]
    for name, phase in results.get("phases", {}).items():
        settings = phase.get("settings") or {}
        precision = phase.get("precision") or settings.get("precision")
        what = f"{name}: {phase['status']}, {phase.get('seconds', '?')} s, {phase.get('compiles', '?')} XLA compiles"
        if name == "extraction":
            what += (f"; {_rate(phase.get('img_s'))} at {phase.get('image_size')} px, {precision}, "
                     f"XLA {phase.get('xla')} (A100 anchor {_rate(anchors.get('a100_infer_img_s'))})")
        elif name.startswith("throughput:"):
            strategy = phase.get("strategy", {})
            what += (f"; {strategy.get('status')}: {_rate(phase.get('train_img_s'))} at {phase.get('image_size')} px, "
                     f"{precision}, XLA {settings.get('xla')}, input share <= {phase.get('input_share_upper_bound')}")
            if name == "throughput:finetune":
                what += f" (A100 anchor {_rate(anchors.get('a100_train_img_s'))})"
        elif name == "paper_run":
            strategies = ", ".join(f"{s} {r['status']} {r['seconds']} s"
                                   for s, r in phase.get("strategies", {}).items())
            what += f"; run {phase.get('run_status')} in {phase.get('wall_s')} s: {strategies}"
        lines.append("  " + what)
    lines.append(f"  peak device memory: {results.get('peak_device_mb')} MB; anchors: {anchors.get('source')}")
    return lines


def problems(results: dict) -> list[str]:
    """What keeps the results from being complete: each phase not done, strategy not finished, figure
    not measured."""
    out = [] if results.get("status") == "complete" else [f"status: {results.get('status')}"]
    for name, phase in results.get("phases", {}).items():
        if phase["status"] != "done":
            out.append(f"{name}: {phase['status']} {phase.get('error', '')}".rstrip())
        strategies = phase.get("strategies") or (
            {name.split(":")[-1]: phase["strategy"]} if "strategy" in phase else {})
        out += [f"{name} {s}: {r['status']} {r.get('error', '')}".rstrip() for s, r in strategies.items()
                if r["status"] != "finished"]
        if name.startswith("throughput:") and not phase.get("train_img_s"):
            out.append(f"{name}: no training rate")
        if name == "extraction" and not phase.get("img_s"):
            out.append("extraction: no rate")
    if not results.get("machine", {}).get("devices"):
        out.append("machine: no device recorded")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.gpu_summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--require-complete", action="store_true", help="exit 1 unless every phase is complete")
    args = parser.parse_args(argv)
    try:
        results = json.loads(args.results.read_text())
    except (OSError, ValueError) as exc:
        print(f"gpu_summary: cannot read {args.results}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary_lines(results)))
    found = problems(results) if args.require_complete else []
    for problem in found:
        print(f"gpu_summary: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
