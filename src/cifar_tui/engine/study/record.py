"""The study record: which run holds each cell of a study, in `runs/.studies/<name>/study.json`.

The runs themselves are ordinary runs (listed, opened, compared and exported like any other); the record
links them to the grid. A cell keeps the ids of every run it had (a failed attempt stays in the history),
the last one being current. The record is rewritten atomically whenever a cell gets a run, and a lock
keeps two `cifar-tui study` processes from driving one study at once.

Cells submitted to Slurm (`study --executor slurm`) also carry their job: the Slurm job id of the current
attempt (`<array>_<task>`), its state and node as of the last `study` command, and the task's log file.
Readers (`studies show`, the app) reconcile the live state from Slurm and the run folder
(engine/study/cell_status.py); only the submitting command, under the study lock, writes it back here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_tui.engine.errors import StoreError
from cifar_tui.engine.store.atomic import atomic_write_json
from cifar_tui.engine.store.ids import validate_name
from cifar_tui.engine.study.spec import StudySpec

STUDIES_DIR = ".studies"  # hidden: the runs listing skips it
RECORD_FILE = "study.json"
RECORD_VERSION = 1


@dataclass
class CellRecord:
    index: int
    key: dict[str, Any]
    label: str
    run_ids: list[str] = field(default_factory=list)
    job_id: str = ""  # Slurm job id of the current attempt ("" for cells run on this host)
    state: str = ""  # as of the last `study --executor slurm`: queued, running, finished, failed, cancelled
    log: str = ""  # the Slurm task's output file
    submitted: float = 0.0
    node: str = ""  # where the task ran (as of the last reconciliation)
    # Why the cell's configuration cannot run on its data set (too few images for its subset, say), found
    # before a run was made: a failed cell with this reason, while the other cells run. Cleared by a run.
    refused: str = ""

    @property
    def run_id(self) -> str:
        return self.run_ids[-1] if self.run_ids else ""


@dataclass
class StudyRecord:
    name: str
    title: str
    x: str
    fingerprint: str
    source: str
    axes: dict[str, list[Any]]
    cells: list[CellRecord]
    created: float = field(default_factory=time.time)
    reference: Any = None  # the spec's reference value of x (statistics compare the other conditions with it)

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": RECORD_VERSION, "name": self.name, "title": self.title, "x": self.x,
                "fingerprint": self.fingerprint, "source": self.source, "axes": self.axes,
                "created": self.created, "reference": self.reference,
                "cells": [_cell_dict(c) for c in self.cells]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyRecord:
        version = data.get("format_version", 1)
        if not isinstance(version, int) or version > RECORD_VERSION:
            raise StoreError(f"study {data.get('name')} was written by a newer cifar-tui (format {version})")
        cells = [CellRecord(c["index"], c["key"], c["label"], list(c.get("run_ids", [])), str(c.get("job_id", "")),
                            str(c.get("state", "")), str(c.get("log", "")), float(c.get("submitted", 0.0)),
                            str(c.get("node", "")), str(c.get("refused", "")))
                 for c in data["cells"]]
        return cls(data["name"], data.get("title", data["name"]), data.get("x", "seed"), data["fingerprint"],
                   data.get("source", ""), data.get("axes", {}), cells, data.get("created", 0.0),
                   data.get("reference"))


def _cell_dict(cell: CellRecord) -> dict[str, Any]:
    out = {"index": cell.index, "key": cell.key, "label": cell.label, "run_ids": cell.run_ids}
    if cell.job_id:  # cluster fields only where there is a job: local records stay as they were
        out.update(job_id=cell.job_id, state=cell.state, log=cell.log, submitted=cell.submitted, node=cell.node)
    if cell.refused:
        out["refused"] = cell.refused
    return out


def study_dir(runs_dir: Path, name: str) -> Path:
    return Path(runs_dir) / STUDIES_DIR / validate_name(name)


def new_record(spec: StudySpec) -> StudyRecord:
    return StudyRecord(spec.name, spec.title, spec.x, spec.fingerprint(), spec.source, spec.axes,
                       [CellRecord(c.index, c.key, c.label) for c in spec.cells()], reference=spec.reference)


def load_record(runs_dir: Path, name: str) -> StudyRecord | None:
    path = study_dir(runs_dir, name) / RECORD_FILE
    if not path.exists():
        return None
    try:
        return StudyRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"study record {path} is damaged ({exc}); delete {path.parent} to run the study afresh "
                         f"(its run folders are kept)".replace("\n", " ")) from None


def save_record(runs_dir: Path, record: StudyRecord) -> None:
    folder = study_dir(runs_dir, record.name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / RECORD_FILE, record.to_dict())
    except OSError as exc:
        raise StoreError(f"cannot write study record in {folder}: {exc.strerror or exc}") from None


def scan_studies(runs_dir: Path) -> tuple[list[StudyRecord], list[tuple[str, str]]]:
    """The readable study records, and (name, why) for each damaged one: a damaged record never hides the
    others, and is never left out without a word (the CLI lists it, the Studies screen names it)."""
    root = Path(runs_dir) / STUDIES_DIR
    records, damaged = [], []
    for folder in sorted(root.glob("*/")) if root.is_dir() else []:
        try:
            record = load_record(runs_dir, folder.name)
        except StoreError as exc:
            damaged.append((folder.name, str(exc)))
            continue
        if record is not None:
            records.append(record)
    return records, damaged


def list_studies(runs_dir: Path) -> list[StudyRecord]:
    return scan_studies(runs_dir)[0]
