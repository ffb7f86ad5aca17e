"""finetune tested before unfreezing is said wherever the result is shown (issue #24 section 5).

When finetune's best validation epoch is in its head phase, the tested model is the head-only model (frozen's
numbers when budgets are equal). That was shown as "fine-tuning changed nothing" (0.000 in every block) with
nothing saying why."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from cifar_tui.cli.main import app
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.report.export import export_run
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.session import record_and_run
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.training.finetune_outcome import phase_of
from cifar_tui.render.analysis import backbone_change_text, recipe_text


def test_the_phase_of_an_epoch():
    from cifar_tui.engine.models.phases import Phase

    phases = [Phase("head", 2, 1e-3, lambda: None), Phase("finetune", 3, 1e-5, lambda: None)]
    assert [phase_of(phases, e) for e in range(1, 7)] == ["head", "head", "finetune", "finetune", "finetune", ""]


@pytest.mark.slow
def test_a_finetune_whose_best_epoch_is_its_head_says_so_everywhere(cifar_dir, tmp_path):
    """A learning rate of 1e-12 leaves every weight as it was (below float32's resolution), so the unfrozen
    epoch ties the head epoch, and the earliest of equals, the head's, is tested."""
    from cifar_tui.engine.models.backbone import build_backbone, resolve_weights

    weights = tmp_path / "backbone.weights.h5"  # "pretrained": BatchNorm stays frozen when unfrozen
    build_backbone(32, resolve_weights("none")).save_weights(weights)
    config = ExperimentConfig(data_dir=str(cifar_dir), weights=str(weights), strategies=("finetune",),
                              transfer_image_size=32, batch_size=20, head_epochs=1, finetune_epochs=1,
                              finetune_lr=1e-12, frozen_features="live", test_limit=20, run_eagerly=True)
    seen: list = []
    outcome = record_and_run(config, tmp_path / "runs", display=seen.append, redirect_native_log=False)
    tested = next(e for e in seen if isinstance(e, ev.Evaluated))
    assert (tested.best_epoch, tested.tested_phase) == (1, "head")
    note = "best epoch 1 was before unfreezing: fine-tuning did not improve validation accuracy"
    assert any(isinstance(e, ev.LogMessage) and e.level == "warning" and note in e.message for e in seen)
    change = next(e for e in seen if isinstance(e, ev.BackboneChange))
    assert "fine-tuning's own weights after epoch 2, not the tested model" in change.weights
    assert change.trained_variables > 0 and all(np.isfinite(change.weight_change))

    state = RunState.from_events(seen)
    assert note in state.strategies["finetune"].summary()["note"]
    assert note in recipe_text(state).plain  # the app, under its comparison table
    assert "not the tested model" in backbone_change_text(state).plain
    shown = CliRunner().invoke(app, ["runs", "show", outcome.run_id, "--runs-dir", str(tmp_path / "runs")],
                               env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "*" in shown.output and note in shown.output, shown.output
    report = export_run(state, tmp_path / "export").read_text()
    assert f"**NOTE**: finetune: {note}" in report and "before unfreezing: fine-tuning did not improve" in report
