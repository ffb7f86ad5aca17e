"""The caveats that limit what a run or a study means: substituted data or weights, deliberate mistakes, one
seed. Shared by the run and the study verdicts, so both say them in the same words."""

from __future__ import annotations

TRANSFER = ("frozen", "finetune", "probe")  # the strategies that read an EfficientNetB0 backbone
MISTAKE = "DELIBERATE MISTAKE: "
# where Keras looks: $KERAS_HOME/models, ~/.keras/models without it (a reviewer with KERAS_HOME set was sent to
# the wrong folder)
WEIGHTS_FIX = ("rerun with weights: put efficientnetb0_notop.h5 in $KERAS_HOME/models (~/.keras/models when "
               "KERAS_HOME is not set), or pass --weights PATH; see docs/data.md")
NO_TRANSFER_CONCLUSION = ("No conclusion about transfer learning: the transfer strategies started from random "
                          "weights, not ImageNet's, so they measured random features, not transfer")


def is_random_init(weights_label: str, pretrained: bool | None = None) -> bool:
    """The backbone started from random weights (asked with --weights none, or a fallback)."""
    return pretrained is False or (pretrained is None and weights_label.lower().startswith("random init"))


def random_init_caveat(strategies: list[str], fallback: bool) -> str:
    why = "ImageNet weights could not be loaded, so " if fallback else ""
    names = " and ".join([", ".join(strategies[:-1]), strategies[-1]]) if len(strategies) > 1 else strategies[0]
    return (f"Random init: {why}{names} started from random weights: they measured random features, not "
            f"ImageNet transfer")


def dataset_caveat(name: str, substituted_for: str = "") -> str | None:
    """None for CIFAR-10, the data set the study's question is about."""
    if not name or name == "cifar10":
        return None
    what = "scikit-learn's 8x8 handwritten digits" if name == "digits" else name
    if substituted_for:
        return (f"{name}, not CIFAR-10: CIFAR-10 could not be loaded, so the run used {what}; the numbers say "
                f"nothing about CIFAR-10 (point --data-dir at it: docs/data.md)")
    return f"{name}, not CIFAR-10: the numbers are about {what}, not CIFAR-10"


def mistake_caveats(notices: list[str]) -> list[str]:
    return [f"Deliberate mistake: {n[len(MISTAKE):]}: this measures a broken pipeline on purpose"
            for n in notices if n.startswith(MISTAKE)]


ONE_SEED = ("One seed: training noise is not measured, so nothing here generalises beyond this run; a verdict "
            "needs seeds (a study with a seed axis: cifar-tui study SPEC, docs/studies.md)")
