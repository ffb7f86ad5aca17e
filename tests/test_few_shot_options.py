"""Asking for a training subset (flags, the New run form) uses the k-shot protocol: validation from the full
training set. The quick preset alone keeps its cheap 2,000-image recipe (validation carved from it)."""

from __future__ import annotations

from test_new_run_form import start_from_form
from textual.widgets import Input

from cifar_tui.cli.flags import config_from_flags
from cifar_tui.engine.config.presets import preset_config


def test_a_subset_on_the_command_line_takes_validation_from_the_full_set():
    assert config_from_flags().val_from == "subset"  # quick as it was: 200/class, validation carved from them
    few = config_from_flags(train_per_class=5)
    assert (few.train_per_class, few.train_fraction, few.val_from) == (5, 1.0, "full")
    part = config_from_flags(train_fraction=0.1)
    assert (part.train_per_class, part.train_fraction, part.val_from) == (None, 0.1, "full")


async def test_a_per_class_count_typed_in_the_form_is_k_training_images(tmp_path):
    async def edit(form, pilot):
        form.query_one("#train_per_class", Input).value = "5"
        await pilot.pause(0.05)

    started = await start_from_form(tmp_path, preset_config("quick"), edit)
    assert (started.train_per_class, started.val_from) == (5, "full")
