"""What `finetune` tested, and what its analysis looks at (issue #24 sections 4 and 5).

Model selection picks the best validation epoch over both phases. When that epoch is in the head phase,
the tested model is the head-only model, the one `frozen` trains (the same numbers when budgets are equal):
fine-tuning did not improve validation accuracy. That is a result, and it is said wherever the result is
shown (`Evaluated.tested_phase`, a warning in the log, `runs show`, the app, the report). The fine-tuning
analysis then looks at the weights fine-tuning produced (its last epoch), labelled as such: comparing the
tested backbone with its start would read 0 everywhere, which says nothing about fine-tuning.
"""

from __future__ import annotations

from cifar_tui.engine.models.phases import Phase
from cifar_tui.engine.run.events import BackboneChange, LogMessage, Sink


def phase_of(phases: list[Phase], epoch: int, first_epoch: int = 1) -> str:
    """The name of the phase that trained 1-based `epoch`, phases run in order from `first_epoch`; "" if none."""
    end = first_epoch - 1
    for phase in phases:
        end += phase.epochs
        if epoch <= end:
            return phase.name
    return ""


def analyse(sink: Sink, strategy: str, model, backbone, before: dict, reference: str, trained: set[str],
            images, tested_epoch: int, tested_phase: str, finetuned: dict | None, last_epoch: int) -> None:
    """Emit the fine-tuning analysis: of the tested backbone, or, when the tested epoch came before unfreezing,
    of `finetuned` (the backbone's weights after fine-tuning's `last_epoch`), labelled; or say why none."""
    from cifar_tui.engine.analysis.backbone_change import backbone_change

    if not trained:
        sink(LogMessage(level="warning", message=f"{strategy}: no backbone variable was trained (no unfrozen "
                                                 "epoch): the fine-tuning analysis does not apply"))
        return
    if tested_phase == "head" and finetuned is not None:
        label = (f"fine-tuning's own weights after epoch {last_epoch}, not the tested model (best epoch "
                 f"{tested_epoch} was before unfreezing)")
        change = backbone_change(model, backbone, before, images, trained, after=finetuned)
    else:
        label = f"the tested model (epoch {tested_epoch})"
        change = backbone_change(model, backbone, before, images, trained)
    sink(BackboneChange(strategy=strategy, reference=reference, weights=label,
                        trained_variables=len(trained), **change))
