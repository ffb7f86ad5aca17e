"""Published reference results, drawn as labelled horizontal lines on study charts.

Only meaningful for CIFAR-10 with ImageNet-pretrained weights: `references_for` returns none when any
finished cell ran on another (or a substituted) data set or without ImageNet weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cifar_tui.engine.store import paths
from cifar_tui.engine.study.stats import CellResult


@dataclass(frozen=True)
class Reference:
    label: str  # short, for a legend
    accuracy: float  # test accuracy, 0-1
    source: str  # who published it
    short: str = ""  # a few characters, for a terminal chart
    protocol: str = ""  # where the published protocol differs from this tool's, in words (legends say it)


PUBLISHED = (
    Reference("EfficientNet-B0 fine-tuned", 0.981, "Tan & Le 2019", "EfficientNet-B0"),
    # airbench94 and airbench94_muon: both 94.01% (means over 1,000 and 200 runs), trained on all 50,000
    # images and tested with TTA; this tool carves its validation set out of them (issue #24)
    Reference("airbench94 from scratch", 0.940, "Jordan 2024", "airbench94, 50k train",
              protocol="trained on all 50,000 images; here on 45,000"),
)
FEW_SHOT = (  # median of >= 5 runs; the data-efficiency study's few-shot points
    Reference("BiT-M-R50x1, 1 image/class", 0.544, "Kolesnikov et al. 2020", "BiT 1/class"),
    Reference("BiT-M-R50x1, 5 images/class", 0.833, "Kolesnikov et al. 2020", "BiT 5/class"),
)


def _cifar10_imagenet(run_dir: Path) -> bool:
    try:
        summary = json.loads((run_dir / paths.SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    dataset, weights = summary.get("dataset") or {}, summary.get("weights") or {}
    return (dataset.get("name") == "cifar10" and not dataset.get("substituted_for")
            and weights.get("pretrained") is True and str(weights.get("requested", "")).lower() == "imagenet")


def references_for(study_x: str, results: list[CellResult], runs_dir: Path) -> list[Reference]:
    """The reference lines a study's chart may show: none unless every finished cell is CIFAR-10 with
    ImageNet weights (and there is at least one). Reads summary.json files: off the UI thread."""
    finished = [r for r in results if r.status == "finished" and r.run_id]
    if not finished or not all(_cifar10_imagenet(Path(runs_dir) / r.run_id) for r in finished):
        return []
    few_shot = FEW_SHOT if study_x in ("train_fraction", "train_per_class", "train_size") else ()
    return [*PUBLISHED, *few_shot]


def legend(reference: Reference) -> str:
    protocol = f"; {reference.protocol}" if reference.protocol else ""
    return f"{reference.label} {100 * reference.accuracy:.1f}% ({reference.source}{protocol})"
