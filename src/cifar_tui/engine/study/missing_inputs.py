"""What a study's runs would have to download before training: said by `study --dry-run`, which downloads
nothing. Without internet (this project's GPU machines, many clusters) each such cell would fail at its start,
so the dry run says it first, with the fix (a reviewer ran a dry run offline and was told nothing)."""

from __future__ import annotations

import re

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.errors import UserError


def missing_inputs(configs: list[ExperimentConfig]) -> list[str]:
    """One line per data set or weights file the runs of `configs` need and this machine lacks; a data
    folder that holds no copy gives its UserError's line. No TensorFlow, no network."""
    from cifar_tui.engine.data.catalog import DOWNLOADABLE, TITLES, locate
    from cifar_tui.engine.data.keras_cache import cache_dir

    lines = []
    for dataset, data_dir in sorted({(c.dataset, c.data_dir or "") for c in configs}):
        if dataset not in DOWNLOADABLE:
            continue
        try:
            found = locate(dataset, data_dir or None)
        except UserError as exc:
            lines.append(f"will fail: {study_words(str(exc))}")
            continue
        if found is None and not _falls_back(configs, dataset):
            lines.append(f"{TITLES[dataset]} is not in {cache_dir()}: each cell downloads it first and fails "
                         "without internet (fix: --set data_dir=DIR with the data set's files)")
    if any(_needs_imagenet(c) for c in configs):
        from cifar_tui.engine.models.backbone import WEIGHTS_FILE, imagenet_cache_path

        if not imagenet_cache_path().is_file():
            lines.append(f"ImageNet weights are not in {imagenet_cache_path()}: each cell with a transfer "
                         f"strategy downloads them first and fails without internet (fix: copy {WEIGHTS_FILE} "
                         "there, or --set weights=PATH)")
    return lines


def _needs_imagenet(config: ExperimentConfig) -> bool:
    return config.needs_backbone and config.weights.strip().lower() == "imagenet" and not config.allow_fallback


def _falls_back(configs: list[ExperimentConfig], dataset: str) -> bool:
    """Every such cell substitutes digits for CIFAR-10 offline (`allow_fallback`, said in its record)."""
    return dataset == "cifar10" and all(c.allow_fallback and not c.data_dir for c in configs if c.dataset == dataset)


def study_words(text: str) -> str:
    """A data error's fix in the words `study` takes: its knobs are set with `--set`, it has no --data-dir or
    --dataset option (a reviewer was told to pass --data-dir, which `study` refuses)."""
    text = re.sub(r"(pass|point) --data-dir (pointing at|at|with)", r"\1 --set data_dir=DIR \2", text)
    text = text.replace("--data-dir PATH", "--set data_dir=DIR")
    text = re.sub(r"--data-dir (\S+)", r"data_dir \1", text)
    return re.sub(r"--dataset (\w+)", r"--set dataset=\1", text)
