"""What each strategy and each of its phases actually trained with, in one line (issue #24 section 3).

The line goes into `strategy_started` (the strategy) and `phase_started` (each phase), so `runs show`, the
app and the report say what ran: augmentation, features cached or the backbone live, optimiser and
schedule, epochs, what trains. The scratch models and the probe describe themselves (`Recipe.description`);
the transfer strategies' lines are made here, once it is known which phase trains on cached features.
"""

from __future__ import annotations

from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.models.phases import Phase


def _what_trains(phase: Phase, config: ExperimentConfig, pretrained: bool) -> str:
    if phase.name != "finetune":
        return "head on the frozen backbone"
    blocks = "all blocks" if not config.unfreeze_blocks else f"top {config.unfreeze_blocks} of 7 blocks"
    if not pretrained:
        bn = "BatchNorm training"
    elif config.bn_mode == "train":
        bn = "BatchNorm updating its statistics: the mistake"
    else:
        bn = "BatchNorm frozen"
    return f"backbone unfrozen ({blocks}, {bn})"


def phase_line(phase: Phase, config: ExperimentConfig, augment: str, cached: bool, pretrained: bool,
               lr_factor: int = 1) -> str:
    """One phase of frozen or finetune: what trains, epochs, Adam's rate and schedule, the features, the
    augmentation (`augment`, a key of AUGMENTATIONS)."""
    schedule = "warm-up + cosine" if config.transfer_schedule == "cosine" else "constant"
    if cached:
        features = "features cached (each epoch's augmented images)" if augment != "none" else "features cached"
    else:
        features = "backbone live on every batch"
    stopping = (f", early stopping (patience {config.finetune_patience})"
                if phase.name == "finetune" and config.finetune_patience else "")
    return (f"{_what_trains(phase, config, pretrained)}: {phase.epochs} epoch{'s' * (phase.epochs != 1)}, Adam "
            f"{phase.learning_rate * lr_factor:g} {schedule}{stopping}, {features}, augmentation {augment}")


def transfer_lines(name: str, config: ExperimentConfig, phases: list[Phase], augment: str,
                   cached_phase: str | None, pretrained: bool, lr_factor: int = 1) -> tuple[str, dict[str, str]]:
    """(the strategy's line, {phase name: its line}) for frozen or finetune."""
    lines = {p.name: phase_line(p, config, augment, p.name == cached_phase, pretrained, lr_factor) for p in phases}
    head = "GAP" + (f", Dense({config.head_units}, relu)" if config.head_units else "")
    model = (f"EfficientNetB0 at {config.transfer_image_size} px, head {head}, dropout {config.dropout:g}, "
             "softmax" + (", stochastic depth on" if config.stochastic_depth else ""))
    if name == "finetune" and config.finetune_from == "frozen":
        model += f", continues frozen's trained model ({config.frozen_epochs} head epochs)"
    return f"{model}; " + "; then ".join(lines.values()), lines


def strategy_lines(name: str, config: ExperimentConfig, built, cached_phase: str | None, pretrained: bool,
                   lr_factor: int = 1) -> tuple[str, dict[str, str]]:
    """(the strategy's line, {phase name: its line}) for any strategy trained by `fit`: a transfer strategy's
    from `transfer_lines`, a scratch model's its own description (one phase). `config`: augment resolved."""
    if built.backbone is None:
        return built.recipe.description, {p.name: built.recipe.description for p in built.phases}
    from cifar_tui.engine.models.transfer import transfer_augmentation

    return transfer_lines(name, config, built.phases, transfer_augmentation(config), cached_phase, pretrained,
                          lr_factor)
