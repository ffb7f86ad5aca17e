"""The run store's reading side: list runs, load one run, judge its status.

Reading never trusts a folder: a damaged run is reported as damaged and never breaks the listing of the
others; a torn last line of `events.jsonl` (a crash mid-write) is skipped; a folder written by a newer
version of cifar-tui is refused with the version named.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_tui.engine.config.effective_config import effective_config
from cifar_tui.engine.errors import StoreError
from cifar_tui.engine.run.events import Event, EventFormatError, event_from_json
from cifar_tui.engine.run.state import RunState, status_words
from cifar_tui.engine.store import paths
from cifar_tui.engine.store.ids import validate_run_id
from cifar_tui.engine.store.liveness import STALE_AFTER_S, writer_alive, writer_state
from cifar_tui.engine.store.lock import RunLock

__all__ = ["STALE_AFTER_S", "LoadedRun", "RunListing", "delete_run", "list_runs", "load_run", "read_events",
           "read_listing", "resolve_run", "writer_alive"]


@dataclass
class RunListing:
    run_id: str
    path: Path
    status: str  # running, finished, cancelled, failed, interrupted, damaged
    name: str = ""
    started: float | None = None
    seconds: float | None = None
    dataset: str = ""
    weights: str = ""
    strategies: dict[str, Any] = field(default_factory=dict)  # name -> strategy summary
    notices: list[str] = field(default_factory=list)
    problem: str = ""  # why it is damaged
    note: str = ""  # the user's annotation (notes.json)
    quiet_s: float | None = None  # running, its writer alive (lock held) but silent this long (issue #26)
    # What trained, as `--dataset` / `--weights` spell it (weights None: no strategy with a backbone), and what
    # was asked for where that differs (engine/config/effective_config.py): a study names its cells' data and weights.
    trained: dict[str, Any] = field(default_factory=dict)
    asked: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "path": str(self.path), "status": self.status, "name": self.name,
                "started": self.started, "seconds": self.seconds, "dataset": self.dataset,
                "weights": self.weights, "strategies": self.strategies, "notices": self.notices,
                "problem": self.problem, "note": self.note, "quiet_s": self.quiet_s,
                "trained": self.trained, "asked": self.asked}

    @property
    def status_text(self) -> str:
        """The status in words: "running, no heartbeat for 35 s" for a quiet writer (stopped, or busy)."""
        return status_words(self.status, self.quiet_s)


@dataclass
class LoadedRun:
    listing: RunListing
    state: RunState
    events: list[Event]
    skipped_lines: list[str]  # descriptions of unreadable lines


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("format_version", 1)
    if isinstance(version, int) and version > paths.FORMAT_VERSION:
        raise StoreError(f"{path.parent.name} was written by a newer cifar-tui (format {version}; "
                         f"this version reads up to {paths.FORMAT_VERSION}): upgrade cifar-tui to read it")
    return data


def _listing_from_summary(run_dir: Path, summary: dict[str, Any]) -> RunListing:
    status, quiet = summary.get("status", "running"), None
    if status in ("running", "pending"):  # the record says so; its writer says whether it still is
        writer = writer_state(run_dir)
        status = status if writer.alive else "interrupted"
        quiet = writer.quiet_s if writer.quiet else None
    recorded = effective_config(summary.get("config") or {}, summary.get("dataset"), summary.get("weights"),
                                summary.get("environment"))
    trained = {key: recorded.effective.get(key) if recorded.is_used(key) else None for key in ("dataset", "weights")}
    return RunListing(
        run_id=run_dir.name, path=run_dir, status=status, name=summary.get("name", ""),
        started=summary.get("started"), seconds=summary.get("seconds"),
        dataset=(summary.get("dataset") or {}).get("name", ""),
        weights=(summary.get("weights") or {}).get("label", ""),
        strategies=summary.get("strategies") or {}, notices=summary.get("notices") or [], quiet_s=quiet,
        trained=trained, asked={k: v for k, v in recorded.requested.items() if k in trained and trained[k] is not None},
    )


def read_listing(run_dir: Path) -> RunListing:
    """One run's listing, with the user's name and note applied (notes.json) when there are some."""
    listing = _read_listing(run_dir)
    notes = read_notes(run_dir)
    listing.name = notes.get("name") or listing.name
    listing.note = notes.get("note", "")
    return listing


NOTES_FILE = "notes.json"


def read_notes(run_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((run_dir / NOTES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: str(v) for k, v in data.items() if k in ("name", "note")} if isinstance(data, dict) else {}


def write_notes(runs_dir: Path, run_id: str, name: str | None = None, note: str | None = None) -> dict[str, str]:
    """Rename (a display name; the id and folder stay) or annotate a run. Written atomically."""
    from cifar_tui.engine.store.atomic import atomic_write_json

    folder = resolve_run(runs_dir, run_id)
    notes = read_notes(folder)
    if name is not None:
        notes["name"] = name.strip()[:80]
    if note is not None:
        notes["note"] = note.strip()[:2000]
    try:
        atomic_write_json(folder / NOTES_FILE, notes)
    except OSError as exc:
        raise StoreError(f"cannot write notes of run {folder.name}: {exc.strerror or exc}") from None
    return notes


def _read_listing(run_dir: Path) -> RunListing:
    """One run's listing from its summary.json (falling back to its events); damaged if unreadable, and
    damaged as `load_run` finds it when its events file holds no readable event (issue #26): every view
    (runs list, runs show, the Runs screen, studies) reads a run the same way."""
    try:
        listing = _listing_from_summary(run_dir, _read_json(run_dir / paths.SUMMARY_FILE))
    except StoreError as exc:
        return RunListing(run_dir.name, run_dir, "damaged", problem=str(exc))
    except (OSError, ValueError):
        listing = None
    if listing is not None:
        problem = events_problem(run_dir)
        if problem:  # damaged, in its place among the runs (its recorded start)
            return RunListing(run_dir.name, run_dir, "damaged", problem=problem, started=listing.started)
        return listing
    try:
        events, _ = read_events(run_dir / paths.EVENTS_FILE)
        if not events:
            raise ValueError("no readable events")
        return _listing_from_summary(run_dir, RunState.from_events(events).summary())
    except (OSError, ValueError) as exc:
        return RunListing(run_dir.name, run_dir, "damaged", problem=f"unreadable run folder: {exc}")


def events_problem(run_dir: Path) -> str:
    """Why the run's events file shows nothing ("" when an event in it can be read, or when a live writer is
    still creating the run). Reads up to the first readable line: the first, in a healthy run."""
    try:
        with open(run_dir / paths.EVENTS_FILE, "rb") as f:
            for raw in f:
                try:
                    if raw.strip():
                        event_from_json(raw.decode("utf-8"))
                        return ""
                except (UnicodeDecodeError, EventFormatError):
                    continue
    except OSError as exc:
        why = f"cannot read its events ({exc.strerror or exc})"
    else:
        why = "its events file holds no event"
    return "" if writer_alive(run_dir) else why


def list_runs(runs_dir: Path) -> list[RunListing]:
    """All runs, newest first by their true start time (UTC seconds, `started`), not by their ids, which
    are local-time text: a run started under another time zone, or across a daylight-saving change, sorts
    where it happened. A missing runs folder is simply empty."""
    runs_dir = Path(runs_dir)
    try:
        entries = [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot read runs folder {runs_dir}: {exc.strerror or exc}") from None
    return sorted((_listing_or_damaged(p) for p in entries), key=start_time, reverse=True)


def start_time(listing: RunListing) -> tuple[float, str]:
    """When a run started, in seconds since the epoch (UTC): its recorded `started`; for a folder without
    one (damaged, or still being created) the local time its id names, else the time its folder last
    changed. The id breaks ties."""
    started = listing.started
    if not isinstance(started, (int, float)) or isinstance(started, bool):
        try:
            started = time.mktime(time.strptime(listing.run_id[:15], "%Y%m%d-%H%M%S"))
        except (ValueError, OverflowError):
            try:
                started = listing.path.stat().st_mtime
            except OSError:
                started = 0.0
    return float(started), listing.run_id


def _listing_or_damaged(run_dir: Path) -> RunListing:
    """One folder's listing; whatever a damaged or crafted folder raises makes it `damaged`, never hides the
    other runs (nor ends the app that lists them)."""
    try:
        return read_listing(run_dir)
    except Exception as exc:
        return RunListing(run_dir.name, run_dir, "damaged", problem=f"{type(exc).__name__}: {exc}"[:200])


def read_events(path: Path) -> tuple[list[Event], list[str]]:
    """Parse an events file; unreadable lines are skipped and described, never fatal."""
    events: list[Event] = []
    skipped: list[str] = []
    with open(path, "rb") as f:
        raw_lines = f.read().split(b"\n")
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            events.append(event_from_json(raw.decode("utf-8")))
        except (UnicodeDecodeError, EventFormatError) as exc:
            torn = number == len(raw_lines)  # no newline after it: a write cut short
            skipped.append(f"line {number}: {'torn last line' if torn else exc}")
    return events, skipped


def resolve_run(runs_dir: Path, run_ref: str) -> Path:
    """A run folder from an id or a unique prefix/name fragment; clear errors otherwise."""
    if run_ref in ("latest", "last"):
        runs = list_runs(runs_dir)
        if not runs:
            raise StoreError(f"no runs in {runs_dir}")
        return runs[0].path
    validate_run_id(run_ref)
    exact = Path(runs_dir) / run_ref
    if exact.is_dir():
        return exact
    try:
        matches = [p for p in Path(runs_dir).iterdir() if p.is_dir() and run_ref in p.name]
    except OSError:
        matches = []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise StoreError(f"no run {run_ref!r} in {runs_dir} (see `cifar-tui runs list`)")
    raise StoreError(f"{run_ref!r} matches {len(matches)} runs; give more of the id")


def load_run(runs_dir: Path, run_ref: str) -> LoadedRun:
    run_dir = resolve_run(runs_dir, run_ref)
    listing = read_listing(run_dir)
    if listing.status == "damaged" and "newer cifar-tui" in listing.problem:
        raise StoreError(listing.problem)
    try:
        events, skipped = read_events(run_dir / paths.EVENTS_FILE)
    except OSError as exc:
        raise StoreError(f"run {run_dir.name} is damaged: cannot read its events ({exc.strerror or exc})") from None
    # nothing to show: say so, never an empty "pending" run; a run being created holds its lock before its
    # writer.json and first event exist, and is not damaged (the listing read it so: events_problem)
    if not events and not writer_alive(run_dir):
        why = listing.problem if listing.status == "damaged" else "its events file holds no event"
        lines = f"; {len(skipped)} unreadable line{'s' * (len(skipped) != 1)}" if skipped else ""
        raise StoreError(f"run {run_dir.name} is damaged: {why}{lines}".splitlines()[0])
    state = RunState.from_events(events)
    if state.status in ("running", "pending") and listing.status == "interrupted":
        state.writer_gone()
    return LoadedRun(listing, state, events, skipped)


def delete_run(runs_dir: Path, run_id: str) -> None:
    """Remove one run folder, only ever a direct child of the runs folder, and never one being written: a
    writer on this host holds the run's lock as long as it lives (stopped by Ctrl-Z or `kill -STOP` too),
    so the lock is taken for the removal; a writer elsewhere with a fresh heartbeat is refused as well."""
    import shutil

    validate_run_id(run_id)
    folder = Path(runs_dir) / run_id
    if folder.resolve().parent != Path(runs_dir).resolve() or not folder.is_dir():
        raise StoreError(f"no run {run_id!r} in {runs_dir}")
    writer = writer_state(folder)
    try:
        if writer.alive:
            raise StoreError("busy")
        lock = RunLock(folder).acquire()
    except StoreError:
        raise StoreError(_still_written(run_id, writer)) from None
    try:
        shutil.rmtree(folder)
    finally:
        lock.release()


def _still_written(run_id: str, writer) -> str:
    by = f" by pid {writer.pid}" if writer.pid else ""
    quiet = f", no heartbeat for {writer.quiet_s:.0f} s (stopped or busy)" if writer.quiet else ""
    resume = f"`kill -CONT {writer.pid}` first if it was stopped, " if writer.pid and writer.here else ""
    return (f"run {run_id} is still being written{by}{quiet}: it is not deleted; stop it first "
            f"({resume}then Ctrl-C in its terminal)")
