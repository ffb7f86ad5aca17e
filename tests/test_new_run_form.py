"""The New run form starts exactly its base config unless a field is edited (pilot tests, scripted engine)."""

from __future__ import annotations

import pytest
from app_harness import ScriptedEngine
from test_app import until
from textual.widgets import Checkbox, Input, Select

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.new_run import NewRunScreen
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.config.presets import PRESETS, preset_config

# Every knob the form does not show set away from its default: none of them may be lost on Start.
CUSTOM = ExperimentConfig(
    strategies=("scratch", "finetune"), dataset="digits", weights="imagenet", name="kept", seed=3,
    val_fraction=0.2, train_fraction=0.5, augment=False, scratch_image_size=48, transfer_image_size=40,
    batch_size=16, scratch_epochs=3, scratch_lr=2e-3, frozen_epochs=4, frozen_lr=3e-3, head_epochs=0,
    head_lr=4e-3, finetune_epochs=7, finetune_lr=3e-4, unfreeze_blocks=3, dropout=0.3, input_scaling="unit",
    bn_mode="train", select_on="test", scratch_model="notebook", finetune_analysis=False, precision="float32",
    jit=True, steps_per_execution=2, gpus="cpu:2", scale_lr=False, checkpoints=False, tensorboard=True,
    run_eagerly=True, scratch_schedule="constant", transfer_schedule="cosine", airbench_epochs=5,
    airbench_batch_size=256)


async def start_from_form(tmp_path, base: ExperimentConfig | None, edit=None) -> ExperimentConfig:
    engine = ScriptedEngine()
    app = CifarTuiApp(tmp_path, engine=engine)
    app.last_config = base  # as after an earlier run
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunScreen))
        await pilot.pause(0.05)
        if edit is not None:
            await edit(app.screen, pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(engine.configs) == 1)
    return engine.configs[0]


@pytest.mark.parametrize("preset", sorted(PRESETS))
async def test_start_on_an_untouched_form_runs_the_preset_unchanged(tmp_path, preset):
    base = preset_config(preset)
    started = await start_from_form(tmp_path, base)
    assert started == base  # per-strategy epochs: frozen and finetune keep theirs


async def test_start_on_an_untouched_form_keeps_every_knob_of_a_custom_config(tmp_path):
    started = await start_from_form(tmp_path, CUSTOM)
    assert started.to_dict() == CUSTOM.to_dict()


async def test_an_edited_field_changes_only_its_knob(tmp_path):
    async def edit(form, pilot):
        form.query_one("#frozen_epochs", Input).value = "9"
        await pilot.pause(0.05)

    started = await start_from_form(tmp_path, CUSTOM, edit)
    assert started.to_dict() == CUSTOM.replace(frozen_epochs=9).to_dict()


async def test_choosing_another_preset_fills_that_preset(tmp_path):
    async def edit(form, pilot):
        form.query_one("#preset", Select).value = "paper"
        await pilot.pause(0.1)

    started = await start_from_form(tmp_path, None, edit)
    assert started == preset_config("paper")


async def test_the_cifar10_folder_is_not_asked_for_or_used_with_digits(tmp_path):
    """The field read "CIFAR-10 data dir" and stayed editable with digits chosen, and its folder was kept."""
    seen = {}

    async def edit(form, pilot):
        folder = form.query_one("#data_dir", Input)
        folder.value = str(tmp_path / "cifar")
        form.query_one("#dataset", Select).value = "digits"
        await pilot.pause(0.1)
        seen["with digits"] = folder.disabled, folder.placeholder
        form.query_one("#dataset", Select).value = "cifar10"
        await pilot.pause(0.1)
        seen["with CIFAR-10"] = folder.disabled, folder.value
        form.query_one("#dataset", Select).value = "digits"
        await pilot.pause(0.1)

    started = await start_from_form(tmp_path, CUSTOM.replace(dataset="cifar10"), edit)
    assert seen["with digits"] == (True, "not used with digits")
    assert seen["with CIFAR-10"] == (False, str(tmp_path / "cifar"))  # typed once, kept for CIFAR-10
    assert started.dataset == "digits" and started.data_dir is None


async def test_the_scratch_model_is_chosen_in_the_form(tmp_path):
    async def edit(form, pilot):
        form.query_one("#scratch-model", Select).value = "airbench"
        await pilot.pause(0.1)

    # airbench is built for 32 px and keeps its own schedule: a base it is valid with
    base = CUSTOM.replace(scratch_image_size=32, scratch_schedule="cosine")
    started = await start_from_form(tmp_path, base, edit)
    assert started.to_dict() == base.replace(scratch_model="airbench").to_dict()


async def test_checked_and_unchecked_strategies_differ_without_colour(tmp_path, monkeypatch):
    """With NO_COLOR, Textual's checkbox drew the same `X` checked or not: the glyph must tell them apart."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = CifarTuiApp(tmp_path, engine=ScriptedEngine())
    app.last_config = preset_config("quick").replace(strategies=("scratch", "frozen"))
    async with app.run_test(size=(100, 40)) as pilot:
        assert app.no_color
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunScreen))
        await pilot.pause(0.05)

        def drawn(strategy: str) -> str:
            box = app.screen.query_one(f"#use-{strategy}", Checkbox)
            text = "".join(box.render_line(y).text for y in range(box.size.height))
            return text.replace(strategy, "")  # the box alone, without its label

        assert drawn("frozen") != drawn("finetune")  # checked vs unchecked
        app.screen.query_one("#use-frozen", Checkbox).value = False
        await pilot.pause(0.05)
        assert drawn("frozen") == drawn("finetune")

        def underlined(strategy: str) -> bool:
            box = app.screen.query_one(f"#use-{strategy}", Checkbox)
            return any(seg.style and seg.style.underline for y in range(box.size.height) for seg in box.render_line(y))

        app.screen.query_one("#use-frozen", Checkbox).focus()
        await pilot.pause(0.05)
        assert underlined("frozen") and not underlined("finetune")  # which box space would toggle


async def test_ctrl_s_on_an_invalid_form_says_why_at_80x24(tmp_path):
    """The form's error line is below the fold at 80x24: Start must say why it will not start."""
    engine = ScriptedEngine()
    app = CifarTuiApp(tmp_path, engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunScreen))
        for box in app.screen.query(Checkbox):
            box.value = False
        await pilot.pause(0.05)
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert isinstance(app.screen, NewRunScreen) and not engine.configs
        messages = [n.message for n in app._notifications]
        assert len(messages) == 1 and "strateg" in messages[0]  # the form's own error sentence
        error = app.screen.query_one("#form-error")
        assert error.region.y < 24 and error.region.height  # scrolled into view


async def test_a_missing_data_folder_or_a_junk_weights_file_is_refused_as_typed(tmp_path):
    """They passed the form (its line read as valid, Start enabled) and failed only after Start."""
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5!")
    app = CifarTuiApp(tmp_path, engine=ScriptedEngine())
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunScreen))
        form = app.screen
        start = form.query_one("#start")
        form.query_one("#dataset", Select).value = "cifar10"
        form.query_one("#data_dir", Input).value = str(tmp_path / "nowhere")
        await until(pilot, lambda: "does not exist" in form.problem)
        assert start.disabled and str(tmp_path / "nowhere") in form.problem
        form.query_one("#data_dir", Input).value = ""
        form.query_one("#weights", Input).value = str(junk)
        await until(pilot, lambda: str(junk) in form.problem)
        assert start.disabled
        form.query_one("#weights", Input).value = "none"  # fixed: the form can start again
        await until(pilot, lambda: not start.disabled)
        assert form.problem == ""
