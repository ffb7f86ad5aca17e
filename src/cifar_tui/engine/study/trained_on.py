"""The data set and weights a study's cells trained on, in words (issue #25 section 2).

A study run offline with `--set dataset=digits` (or on a machine where `make run`'s fallbacks kicked in)
measured digits and random features, whatever its title says; its reports, screen and CSVs say so. Each
cell's run records what it trained on (engine/config/effective_config.py, through the run's listing).
"""

from __future__ import annotations

from typing import Any

from cifar_tui.engine.config.effective_config import show_setting

WEIGHT_WORDS = {"none": "random init", "imagenet": "ImageNet weights", "pretrained": "pretrained weights"}


def weights_text(weights: Any) -> str:
    """"none" -> "random init"; a file keeps its path."""
    return WEIGHT_WORDS.get(str(weights), f"weights {weights}")


def trained_on_text(trained: dict[str, Any], asked: dict[str, Any]) -> str:
    """"digits (asked cifar10), random init (asked imagenet)"; a cell with no backbone names its data only."""
    parts = [show_setting(trained.get("dataset") or "?", asked.get("dataset"), "dataset" in asked)]
    if trained.get("weights") is not None:
        asked_weights = weights_text(asked["weights"]) if "weights" in asked else None
        parts.append(show_setting(weights_text(trained["weights"]), asked_weights, "weights" in asked))
    return ", ".join(parts)


def asked_text(asked: dict[str, Any]) -> str:
    """A CSV cell: "dataset=cifar10 weights=imagenet" where the cell's run resolved otherwise; "" if not."""
    return " ".join(f"{key}={value}" for key, value in asked.items())


def trained_on_lines(results: list) -> list[str]:
    """One line per combination of data and weights among the cells that have a run, with their cells:
    "Trained on: digits (asked cifar10), random init (asked imagenet) (all 6 cells with a run)"."""
    groups: dict[str, list[int]] = {}
    for r in results:
        if r.trained:
            groups.setdefault(trained_on_text(r.trained, r.asked), []).append(r.index + 1)
    ran = sum(len(cells) for cells in groups.values())
    if len(groups) == 1:
        text, cells = next(iter(groups.items()))
        return [f"Trained on: {text} ({'the one cell' if ran == 1 else f'all {ran} cells'} with a run)"]
    return [f"Trained on: {text} (cells {', '.join(map(str, cells))})" for text, cells in groups.items()]
