"""What a run's data set record says beyond its name and sizes, in words, for `runs show` and run reports:
how its images were brought to 32x32x3, an image folder's classes, counts and content digest, and the data
set's distance from ImageNet (engine/analysis/domain_distance.py). Only what the record holds: a run of
CIFAR-10 recorded before these existed shows none of them."""

from __future__ import annotations

from typing import Any

MAX_CLASSES_SHOWN = 12


def data_facts(dataset: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) lines from a RunStarted data set record; [] when it holds none of them."""
    facts = []
    if dataset.get("conversion"):
        facts.append(("images", str(dataset["conversion"])))
    if dataset.get("digest"):
        counts = dataset.get("train_per_class") or {}
        tests = dataset.get("test_per_class") or {}
        shown = ", ".join(f"{name} {n}+{tests.get(name, 0)}" for name, n in list(counts.items())[:MAX_CLASSES_SHOWN])
        more = f", and {len(counts) - MAX_CLASSES_SHOWN} more" if len(counts) > MAX_CLASSES_SHOWN else ""
        facts.append(("folder", f"{dataset.get('folder', '?')}: {len(counts)} classes (train+test images: "
                                f"{shown}{more}); test set {dataset.get('test_set', '?')}"))
        facts.append(("content digest", str(dataset["digest"])))
    distance = dataset.get("imagenet_distance")
    if distance:
        facts.append(("distance from ImageNet", distance_text(distance)))
    return facts


def distance_text(entry: dict[str, Any]) -> str:
    if entry.get("value") is None:
        return str(entry.get("why") or "not measured")
    return (f"{entry['value']:.3f} nats (KL of the backbone's feature statistics from its ImageNet BatchNorm "
            f"statistics; {entry.get('images', '?')} training images at {entry.get('image_size', '?')} px)")
