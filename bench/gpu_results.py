"""What bench/gpu_check.py measured, kept as it goes (issue #27 parts 2 and 4).

- `Deadline`: one overall deadline for every phase: a phase starts only with time left, and gets a stop
  event that is set when the deadline passes (the engine stops at the next batch).
- `Results`: the results JSON, rewritten atomically (temporary file, then `os.replace`) when a phase starts
  and when it ends, so a kill at any moment leaves the last whole file: on the lent GPU machine only the
  folder `$OUT` comes back, and a timed-out call still brings back what was measured.
- A watchdog: if a phase has not returned `grace_s` after the deadline (an XLA compile cannot be
  interrupted), the file says so and the process exits (code 3) before the call's own time limit.
- `CompileCounter`: XLA compiles and seconds compiling per phase (JAX's own compile event), and those of
  the train, test and predict steps by name.

No Keras or JAX at import: the watchdog and the writer are tested without them.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

EXIT_KILLED = 3  # the watchdog's exit status


class Deadline:
    """An instant on the monotonic clock, from a budget in seconds (from now) or a Unix time."""

    def __init__(self, budget_s: float | None = None, at_unix: float | None = None):
        self.end = time.monotonic() + (at_unix - time.time() if at_unix is not None else budget_s)

    def left(self) -> float:
        return self.end - time.monotonic()

    @contextlib.contextmanager
    def stop_event(self):
        """A `threading.Event` set when the deadline passes (at once if it has)."""
        stop = threading.Event()
        timer = threading.Timer(max(0.0, self.left()), stop.set)
        timer.daemon = True
        timer.start()
        try:
            yield stop
        finally:
            timer.cancel()


class CompileCounter:
    """XLA compiles since it was made: `snapshot()` gives the count, the seconds compiling, and the steps'
    compiles by name (`train_step`, `test_step`, `predict_step`)."""

    EVENT = "/jax/core/compile/backend_compile_duration"

    def __init__(self):
        import jax.monitoring

        self.count, self.seconds = 0, 0.0
        self.steps: collections.Counter = collections.Counter()
        jax.monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event, duration, **kwargs) -> None:
        if event == self.EVENT:
            self.count += 1
            self.seconds += duration
            name = str(kwargs.get("fun_name", "")).removeprefix("jit(").removesuffix(")")
            if name.endswith("_step"):
                self.steps[name] += 1

    def snapshot(self) -> dict:
        return {"compiles": self.count, "compile_s": round(self.seconds, 1), "step_compiles": dict(self.steps)}

    @staticmethod
    def since(before: dict, after: dict) -> dict:
        steps = {k: n - before["step_compiles"].get(k, 0) for k, n in after["step_compiles"].items()}
        return {"compiles": after["compiles"] - before["compiles"],
                "compile_s": round(after["compile_s"] - before["compile_s"], 1),
                "step_compiles": {k: n for k, n in steps.items() if n}}


class Results:
    """The results dict and its file (`path`, None: kept in memory only)."""

    def __init__(self, path: Path | None, data: dict, deadline: Deadline, compiles: CompileCounter | None = None):
        self.path, self.data, self.deadline, self.compiles = path, data, deadline, compiles
        self.data.setdefault("status", "running")
        self.data.setdefault("phases", {})
        self._lock = threading.RLock()
        self._finished = threading.Event()  # the watchdog stands down
        self.running: str | None = None

    def write(self) -> None:
        if self.path is None:
            return
        with self._lock:
            text = json.dumps(self.data, indent=2, default=str) + "\n"
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.path)  # readers (and a kill) see the old file or the new one, never half

    @contextlib.contextmanager
    def phase(self, name: str, min_s: float | None = None):
        """Record phase `name`: its status ("running", then "done", "stopped at the deadline" (the body
        set `stopped` in the dict), "failed", or "skipped: deadline" when less than `min_s` seconds are
        left; None: run it whatever is left),
        seconds and compiles. Yields the phase's dict (the body adds its figures) and a stop event set at
        the deadline, or (None, None) when skipped. An exception in the body is recorded and swallowed:
        the next phase still runs."""
        record: dict = {"status": "running"}
        with self._lock:
            self.data["phases"][name] = record
        if min_s is not None and self.deadline.left() < min_s:
            record["status"] = "skipped: deadline"
            self.write()
            yield None, None
            return
        self.running = name
        self.write()
        started, before = time.perf_counter(), self.compiles.snapshot() if self.compiles else None
        with self.deadline.stop_event() as stop:
            try:
                yield record, stop
                record["status"] = "stopped at the deadline" if record.pop("stopped", False) else "done"
            except Exception as exc:  # one phase's failure must not lose the others' figures
                record["status"] = "failed"
                record["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
                print(f"gpu_check: phase {name} failed: {record['error']}", file=sys.stderr)
        with self._lock:
            record["seconds"] = round(time.perf_counter() - started, 1)
            if before is not None:
                record.update(CompileCounter.since(before, self.compiles.snapshot()))
            self.running = None
        self.write()

    def finish(self, **figures) -> None:
        with self._lock:
            self.data.update(figures)
            stopped = [n for n, p in self.data["phases"].items() if p["status"] != "done"]
            self.data["status"] = "complete" if not stopped else f"incomplete: {', '.join(stopped)}"
            self._finished.set()
        self.write()

    def failures(self) -> list[str]:
        """Phases that failed, and strategies that failed inside one (a stop at the deadline is none)."""
        out = []
        for name, record in self.data["phases"].items():
            if record["status"] == "failed":
                out.append(f"{name}: {record.get('error')}")
            strategies = record.get("strategies") or ({"": record["strategy"]} if "strategy" in record else {})
            out += [f"{name} {s}: {r.get('error')}".replace(" :", ":") for s, r in strategies.items()
                    if r.get("status") == "failed"]
        return out

    def start_watchdog(self, grace_s: float) -> threading.Thread:
        """A daemon thread: `grace_s` after the deadline, unless `finish` came first, record the phase still
        running as killed, write, and end the process (`os._exit(EXIT_KILLED)`: no cleanup can block it)."""

        def watch():
            if self._finished.wait(max(0.0, self.deadline.left() + grace_s)):
                return
            with self._lock:
                name = self.running
                if name is not None:
                    self.data["phases"][name]["status"] = "killed: still running after the deadline"
                self.data["status"] = f"killed at the deadline{f' during {name}' if name else ''}"
                self.write()
            print(f"gpu_check: {self.data['status']}; results so far in {self.path}", file=sys.stderr, flush=True)
            os._exit(EXIT_KILLED)

        thread = threading.Thread(target=watch, name="gpu-check-watchdog", daemon=True)
        thread.start()
        return thread
