"""Study specs: a grid of runs described in TOML, expanded into cells (one normal run each).

    name = "data-efficiency"               # the study's id in the runs folder (letters, digits, . _ -)
    title = "Test accuracy vs training-set size"
    x = "train_fraction"                   # the results chart's x axis: one of the axes
    reference = "1.0"                      # the condition the others are compared with: a value of x
    [base]                                 # a preset plus any config knobs, for every cell
    preset = "paper"
    strategies = ["scratch", "frozen", "finetune"]
    [axes]                                 # the grid: every combination is a cell, in this order
    seed = [0, 1, 2]
    train_fraction = [0.01, 0.1, 1.0]
    [variants.divided-by-255]              # named sets of knobs, used through an axis named "variant"
    input_scaling = "unit"
    [slurm]                                # optional: defaults for `--executor slurm` (engine/study/slurm.py)
    partition = "gpu"

Axis and base keys are `ExperimentConfig` fields, plus the aliases below and `train_size` (one axis for
both kinds of training subset: "5/class" is 5 images per class, a number a fraction). The seed axis is what
statistics average over; every other axis is a condition. `reference` (optional) names the condition
the study's question is asked against (the correct pipeline, the default learning rate, the full data
set): for each strategy, every other value of x is compared with it, paired by seed, the other axes held
equal (see `cifar_tui.engine.study.stats`). It may be written as the value or as its text ("1e-5" for 1e-05).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.config.presets import preset_config
from cifar_tui.engine.errors import ConfigError, UserError
from cifar_tui.engine.store.ids import validate_name
from cifar_tui.engine.study.overrides import ALIASES, same, split_overrides

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "studies"
CPU_STUDY = "data-efficiency-cpu"  # the shipped study sized for a 2-core CPU: suggested where there is none
NO_STUDY_YET = (f"one that fits a CPU: cifar-tui study {CPU_STUDY} (6 cells; --dry-run first says how long they "
                f"would take here); every shipped study: cifar-tui study --list")
MAX_CELLS = 500


@dataclass
class Cell:
    index: int
    key: dict[str, Any]  # axis -> value
    config: ExperimentConfig

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.key.items())

    @property
    def condition(self) -> tuple:
        """The cell's axes without the seed: cells that differ only by seed are repeats."""
        return tuple((k, v) for k, v in self.key.items() if k != "seed")


@dataclass
class StudySpec:
    name: str
    title: str
    x: str
    base: dict[str, Any]
    axes: dict[str, list[Any]]
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    question: str = ""  # what the study asks, in a sentence (`cifar-tui study --list`)
    source: str = ""  # where it was read from
    reference: Any = None  # a value of the x axis: the condition the others are compared with
    slurm: dict[str, Any] = field(default_factory=dict)  # the [slurm] table, checked by cifar_tui.engine.study.slurm

    def cells(self) -> list[Cell]:
        out = []
        names = list(self.axes)
        for index, values in enumerate(itertools.product(*(self.axes[n] for n in names))):
            key = dict(zip(names, values, strict=True))
            try:
                config = self._config(key, index)
            except UserError as exc:
                label = " ".join(f"{k}={v}" for k, v in key.items())
                raise ConfigError(f"study {self.name}, cell {label}: {exc}") from None
            out.append(Cell(index, key, config))
        return out

    def fingerprint(self) -> str:
        """Changes when any cell's config would change: a study id is not reused for another grid."""
        configs = [fingerprinted(c.config) for c in self.cells()]
        return hashlib.sha256(json.dumps(configs, sort_keys=True).encode()).hexdigest()[:16]

    def _config(self, key: dict[str, Any], index: int) -> ExperimentConfig:
        knobs = {k: v for k, v in self.base.items() if k != "preset"}
        for axis, value in key.items():
            if axis == "variant":
                knobs.update(self.variants[value])
            else:
                knobs.update(knob(axis, value))
        if "train_fraction" in knobs and "train_per_class" not in knobs:
            knobs["train_per_class"] = None  # a fraction replaces the preset's per-class count
        if {"train_fraction", "train_per_class"} & set(knobs) and "val_from" not in knobs:
            knobs["val_from"] = "full"  # a subset asked for: validation from the full set (issue #15)
        knobs["name"] = f"{self.name}-{index:03d}"
        config = preset_config(self.base.get("preset", "custom"), **{k: v for k, v in knobs.items()
                                                                       if k != "train_per_class"})
        if "train_per_class" in knobs:
            config = config.replace(train_per_class=knobs["train_per_class"])
        return config.validate()


# How a cell computes, not what the grid is (issue #14): each cell's run records its own. They are hashed as
# they were before they could vary (no backend; jit False), so a study recorded before continues, on any
# backend, with or without XLA.
EXECUTION_KNOBS = {"backend": None, "jit": False}  # None: not hashed at all
# Knobs added later, hashed only when set away from their default, so that a study recorded before they
# existed keeps its fingerprint (a grid that sets them is another grid).
LATER_KNOBS = {"domain_distance": False, "transfer_translate": True}


def fingerprinted(config: ExperimentConfig) -> dict[str, Any]:
    """A cell's config as its study's fingerprint sees it. `val_from` is left out where the split is the one
    made before the knob existed (issue #15): "subset", or the full training set (both orders give the same
    split), so a study recorded before continues; its few-shot and fraction cells did change, and are refused."""
    out = config.to_dict()
    for key, hashed_as in EXECUTION_KNOBS.items():
        out.pop(key, None)
        if hashed_as is not None:
            out[key] = hashed_as
    for key, default in LATER_KNOBS.items():
        if out.get(key) == default:
            out.pop(key, None)
    if config.val_from == "subset" or (config.train_per_class is None and config.train_fraction == 1.0):
        del out["val_from"]
    return out


BOOLEAN_KNOBS = frozenset(f.name for f in dataclasses.fields(ExperimentConfig) if isinstance(f.default, bool))


def knob(key: str, value: Any) -> dict[str, Any]:
    """A spec key/value as config fields: aliases resolved, `unfreeze = "top3"` understood."""
    name = ALIASES.get(key, key)
    if name == "unfreeze_blocks" and isinstance(value, str):
        text = value.strip().lower()
        if text == "all":
            value = 0
        elif text.startswith("top") and text[3:].isdigit():
            value = int(text[3:])
        else:
            raise ConfigError(f"unfreeze must be 'all', 'topN' or a number, got {value!r}")
    if name in BOOLEAN_KNOBS and not isinstance(value, bool):  # TOML "false" (a string) is not false
        raise ConfigError(f"{key} must be true or false (a TOML boolean, no quotes), got {value!r}")
    if name == "epochs":  # every strategy, finetune's head included: equal head budgets (issue #12)
        return {"scratch_epochs": value, "frozen_epochs": value, "head_epochs": value, "finetune_epochs": value,
                "airbench_epochs": value}
    if name == "train_size":  # one axis for both kinds of subset: "5/class" (k-shot) or a fraction
        return train_size(value)
    if name == "strategies" and isinstance(value, list):
        value = tuple(value)
    return {name: value}


def train_size(value: Any) -> dict[str, Any]:
    """`train_size = "5/class"` is 5 training images per class; a number is a train fraction."""
    if isinstance(value, str) and value.strip().endswith("/class") and value.strip()[:-6].strip().isdigit():
        return {"train_per_class": int(value.strip()[:-6]), "train_fraction": 1.0}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"train_fraction": value, "train_per_class": None}
    raise ConfigError(f"train_size must be 'K/class' (K images per class) or a fraction, got {value!r}")


def parse_spec(data: dict[str, Any], source: str = "", overrides: dict[str, Any] | None = None) -> StudySpec:
    known = {"name", "title", "x", "reference", "base", "axes", "variants", "description", "question", "slurm"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source or 'study'}: unknown key(s) {', '.join(unknown)} "
                          f"(expected {', '.join(sorted(known))})")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{source or 'study'}: needs a name = \"...\"")
    validate_name(name)
    base = data.get("base", {})
    axes = data.get("axes", {})
    variants = data.get("variants", {})
    slurm = data.get("slurm", {})
    for what, value in (("[base]", base), ("[axes]", axes), ("[variants]", variants), ("[slurm]", slurm)):
        if not isinstance(value, dict):
            raise ConfigError(f"study {name}: {what} must be a table")
    # --set on an axis picks its values; on a knob an axis or variant sets, refused (engine/study/overrides.py)
    spec_axes = axes
    overrides, axes = split_overrides(name, axes, variants, overrides or {}, knob)
    if not axes:
        raise ConfigError(f"study {name}: [axes] needs at least one axis, e.g. seed = [0, 1, 2]")
    fields = set(ExperimentConfig.__dataclass_fields__) | set(ALIASES) | {"epochs", "variant", "preset",
                                                                           "train_size"}
    for axis, values in axes.items():
        if axis not in fields:
            raise ConfigError(f"study {name}: unknown axis {axis!r}")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"study {name}: axis {axis} must be a non-empty list, e.g. {axis} = [..]")
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"study {name}: axis {axis} repeats a value")
    for where, keys in (("[base]", list(base)), *((f"[variants.{v}]", list(k) if isinstance(k, dict) else [])
                                                  for v, k in variants.items()), ("--set", list(overrides or {}))):
        for key in keys:
            if key not in fields or key == "variant":
                raise ConfigError(f"study {name}: unknown knob {key!r} in {where}")
    for variant in axes.get("variant", []):
        if variant not in variants:
            raise ConfigError(f"study {name}: variant {variant!r} has no [variants.{variant}] table")
    base = dict(base)
    for key, value in (overrides or {}).items():
        base.update(knob(key, value) if key != "preset" else {"preset": value})
    x = data.get("x", next((a for a in axes if a != "seed"), "seed"))
    if x not in axes:
        raise ConfigError(f"study {name}: x = {x!r} is not one of its axes ({', '.join(axes)})")
    reference = None
    if "reference" in data:  # x narrowed by --set without the reference: no comparison with it, no error
        picked_without = axes[x] != spec_axes.get(x) and not any(same(v, data["reference"]) for v in axes[x])
        reference = None if picked_without else reference_value(name, x, axes[x], data["reference"])
    size = 1
    for values in axes.values():
        size *= len(values)
    if size > MAX_CELLS:
        raise ConfigError(f"study {name}: {size} cells is more than {MAX_CELLS}; split the grid")
    resolved_variants = {}
    for variant, knobs in variants.items():
        if not isinstance(knobs, dict):
            raise ConfigError(f"study {name}: [variants.{variant}] must be a table")
        resolved_variants[variant] = {k2: v2 for k, v in knobs.items() for k2, v2 in knob(k, v).items()}
    spec = StudySpec(name=name, title=str(data.get("title", name)), x=x, question=str(data.get("question", "")),
                     base={k2: v2 for k, v in base.items() for k2, v2 in
                           (knob(k, v).items() if k != "preset" else [("preset", v)])},
                     axes=axes, variants=resolved_variants, source=source, reference=reference,
                     slurm=dict(slurm))
    spec.cells()  # every cell's config is checked now, before anything runs
    return spec


def reference_value(study: str, x: str, values: list[Any], wanted: Any) -> Any:
    """The x-axis value `wanted` names: equal to it, or equal as a number or as text ("1e-5" is 1e-05)."""
    if x == "seed":
        raise ConfigError(f"study {study}: a reference needs an x axis other than seed (seeds are repeats)")

    matches = [v for v in values if same(v, wanted)]
    if len(matches) != 1:
        raise ConfigError(f"study {study}: reference = {wanted!r} is not one of {x}'s values "
                          f"({', '.join(map(str, values))})")
    return matches[0]


def shipped_studies() -> list[str]:
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.toml"))


def load_spec(ref: str, overrides: dict[str, Any] | None = None) -> StudySpec:
    """A spec from a TOML file path, or a shipped study by name (see `shipped_studies`)."""
    path = Path(ref)
    if not path.is_file():
        shipped = SHIPPED_DIR / f"{ref}.toml"
        if not shipped.is_file():
            raise ConfigError(f"no study file {ref!r} and no shipped study of that name "
                              f"(shipped: {', '.join(shipped_studies())})")
        path = shipped
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return parse_spec(data, source=path.name, overrides=overrides)
