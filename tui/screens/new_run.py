"""The New run form: a preset's values filled in, every field checked as it is typed.

Validation is the engine's own (`config_from_flags` -> `ExperimentConfig.validate`), so the form refuses
exactly what the CLI refuses, with the same sentence. Start stays disabled while anything is invalid.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from engine.config import STRATEGIES, ExperimentConfig
from engine.errors import UserError
from engine.presets import PRESETS, preset_config
from tui.flags import config_from_flags

# (field id, label, ExperimentConfig attribute or None)
FIELDS = [
    ("epochs", "epochs (each strategy)", "scratch_epochs"),
    ("head_epochs", "fine-tune head epochs", "head_epochs"),
    ("image_size", "EfficientNet image size", "transfer_image_size"),
    ("batch_size", "batch size", "batch_size"),
    ("train_per_class", "train images per class", "train_per_class"),
    ("test_limit", "test images (blank: all)", "test_limit"),
    ("data_dir", "CIFAR-10 data dir", "data_dir"),
    ("weights", "weights (imagenet/none/path)", "weights"),
    ("seed", "seed", "seed"),
    ("name", "run name", "name"),
]
INTS = {"epochs", "head_epochs", "image_size", "batch_size", "train_per_class", "test_limit", "seed"}


class NewRunScreen(ModalScreen[ExperimentConfig | None]):
    BINDINGS = [Binding("escape", "dismiss_form", "Cancel"), Binding("ctrl+s", "start", "Start")]

    def __init__(self, base: ExperimentConfig | None = None) -> None:
        super().__init__()
        self.base = base or preset_config("quick")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="new-run-form"):
            yield Static(Text("New run", style="bold"), id="form-title")
            with Horizontal(id="strategy-boxes"):
                for name in STRATEGIES:
                    yield Checkbox(name, value=name in self.base.strategies, id=f"use-{name}")
            with Grid(id="form-grid"):
                yield Label("preset")
                yield Select([(p, p) for p in PRESETS], value=self.base.preset if self.base.preset in PRESETS
                             else "quick", allow_blank=False, id="preset")
                yield Label("data set")
                yield Select([("CIFAR-10", "cifar10"), ("digits (offline demo, NOT CIFAR-10)", "digits")],
                             value=self.base.dataset, allow_blank=False, id="dataset")
                for field_id, label, _attr in FIELDS:
                    yield Label(label)
                    yield Input(id=field_id, type="integer" if field_id in INTS else "text")
            yield Label("", id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.fill(self.base)

    def fill(self, config: ExperimentConfig) -> None:
        for field_id, _label, attr in FIELDS:
            value = getattr(config, attr)
            self.query_one(f"#{field_id}", Input).value = "" if value is None else str(value)
        self.check()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "preset" and event.value in PRESETS:
            current = self.query_one("#dataset", Select).value
            self.fill(preset_config(str(event.value), dataset=current))
        else:
            self.check()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.check()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.check()

    def read(self) -> ExperimentConfig:
        values: dict = {}
        for field_id, label, _attr in FIELDS:
            text = self.query_one(f"#{field_id}", Input).value.strip()
            if not text:
                continue
            if field_id in INTS:
                try:
                    values[field_id] = int(text)
                except ValueError:
                    raise UserError(f"{label} must be a whole number, got {text!r}") from None
            else:
                values[field_id] = text
        chosen = [n for n in STRATEGIES if self.query_one(f"#use-{n}", Checkbox).value]
        preset = str(self.query_one("#preset", Select).value)
        config = config_from_flags(preset=preset, strategies=",".join(chosen) or ",",
                                   dataset=str(self.query_one("#dataset", Select).value), **values)
        if "test_limit" not in values:
            config = config.replace(test_limit=None)
        if "train_per_class" not in values:
            config = config.replace(train_per_class=None)
        return config.validate()

    def check(self) -> ExperimentConfig | None:
        error = self.query_one("#form-error", Label)
        try:
            config = self.read()
        except UserError as exc:
            error.update(Text(str(exc), style="bold red"))
            self.query_one("#start", Button).disabled = True
            return None
        error.update(Text(f"{len(config.strategies)} strategies, EfficientNet at {config.transfer_image_size} px",
                          style="green"))
        self.query_one("#start", Button).disabled = False
        return config

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        else:
            self.dismiss(None)

    def action_start(self) -> None:
        config = self.check()
        if config is not None:
            self.dismiss(config)

    def action_dismiss_form(self) -> None:
        self.dismiss(None)
