"""The New run form: a base config's values filled in, every field checked as it is typed.

The form edits a copy of its base config (the last run's, or a preset's): the fields it shows replace their
knobs, and every knob it does not show (learning rates, unfreeze, fractions, precision, GPUs, deliberate
mistakes, ...) is kept as it was. Epochs are per strategy, so Start on an untouched form runs exactly the
base config. Validation is the engine's own (`ExperimentConfig.validate`), so the form refuses exactly what
the CLI refuses, with the same sentence. Start stays disabled while anything is invalid.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from cifar_tui.app.widgets.check_box import StateCheckbox
from cifar_tui.engine.config.choices import STRATEGIES
from cifar_tui.engine.config.config import ExperimentConfig
from cifar_tui.engine.config.effective_config import of_state
from cifar_tui.engine.config.presets import PRESETS, preset_config
from cifar_tui.engine.errors import ConfigError, UserError
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.runtime import backend as backends
from cifar_tui.engine.runtime.backend import BACKEND_NAMES, BACKENDS, DEFAULT_BACKEND, chosen_backend, switch_refusal

# The scratch strategy's model (issue #18): the small CNN, airbench94's recipe, or the notebook's Flatten CNN
SCRATCH_MODELS = [("small CNN", "cnn"), ("airbench94 (strong baseline, TTA)", "airbench"),
                  ("airbench94_muon (the record, TTA)", "airbench_muon"),
                  ("notebook CNN (Flatten; a mistake)", "notebook")]
# (field id = ExperimentConfig attribute, label)
FIELDS = [
    ("scratch_epochs", "scratch epochs"),
    ("frozen_epochs", "frozen epochs"),
    ("head_epochs", "fine-tune head epochs"),
    ("finetune_epochs", "fine-tune epochs"),
    ("transfer_image_size", "EfficientNet image size"),
    ("batch_size", "batch size"),
    ("train_per_class", "train images per class"),
    ("test_limit", "test images (blank: all)"),
    ("data_dir", "data dir"),
    ("weights", "weights (imagenet/none/path)"),
    ("seed", "seed"),
    ("name", "run name"),
]
INTS = {"scratch_epochs", "frozen_epochs", "head_epochs", "finetune_epochs", "transfer_image_size",
        "batch_size", "train_per_class", "test_limit", "seed"}
BLANK_IS_NONE = {"train_per_class", "test_limit", "data_dir"}  # optional knobs: blank means "not set"
CUSTOM = "custom"
# The data sets (engine/data/catalog.py), as the form names them
DATASET_CHOICES = [("CIFAR-10", "cifar10"), ("CIFAR-100, 100 fine classes", "cifar100"),
                   ("CIFAR-100, 20 coarse classes", "cifar100_coarse"), ("Fashion-MNIST", "fashion_mnist"),
                   ("MNIST", "mnist"), ("image folder (data dir)", "folder"),
                   ("digits (offline demo, NOT CIFAR-10)", "digits")]


def form_backend() -> tuple[str | None, str]:
    """The backend a new form starts with: the one Keras already runs on in this process, else
    `KERAS_BACKEND`, else TensorFlow; (None, why) when the environment's cannot be used (`KERAS_BACKEND=foo`,
    in `chosen_backend`'s words, as the CLI says it): the form's backend field then starts blank and the reason
    stands until a backend is chosen."""
    if (loaded := backends.loaded_backend()) is not None:
        return loaded, ""
    try:
        return chosen_backend(None), ""
    except ConfigError as exc:
        return None, f"{exc} (choose one in the backend field)"


class FilesChecked(Message):
    """The data folder and weights file named in the form, checked in a worker (they are file reads)."""

    def __init__(self, files: tuple, problem: str) -> None:
        super().__init__()
        self.files, self.problem = files, problem


def named_files(config: ExperimentConfig) -> tuple[tuple[str, str] | None, str | None]:
    """The files the form names itself: (data set, its folder) when a data dir is given, and a weights path
    (not `imagenet` / `none`, whose cached file is checked at Start: a checksum of ~20 MB is not for each key)."""
    folder = (config.dataset, config.data_dir) if config.data_dir and config.dataset != "digits" else None
    needs_weights = any(s != "scratch" for s in config.strategies)
    weights = config.weights if needs_weights and config.weights.strip().lower() not in ("imagenet", "none") \
        else None
    return folder, weights


def check_named_files(folder: tuple[str, str] | None, weights: str | None) -> str:
    """The CLI's own checks of those files (`catalog.locate`, `resolve_weights`: no TensorFlow), as one line;
    "" when they pass."""
    from cifar_tui.engine.data.catalog import locate
    from cifar_tui.engine.models.backbone import resolve_weights

    try:
        if folder:
            locate(*folder)
        if weights:
            resolve_weights(weights)
    except UserError as exc:
        return str(exc)
    except Exception as exc:  # a crafted file may raise anything: a line in the form, never a crash
        return f"{folder or weights}: {type(exc).__name__}: {exc}".splitlines()[0]
    return ""


class NewRunScreen(ModalScreen[ExperimentConfig | None]):
    BINDINGS = [Binding("escape", "dismiss_form", "Cancel"), Binding("ctrl+s", "start", "Start")]

    def __init__(self, base: ExperimentConfig | None = None) -> None:
        super().__init__()
        self.from_last_run = base is not None
        backend, self.backend_problem = (base.backend, "") if base is not None else form_backend()
        self.base = base or preset_config("quick", backend=backend or DEFAULT_BACKEND)
        self.initial_backend = backend  # None: the environment's is unusable, the field starts blank
        # The config the fields edit: the base, or a preset chosen in the form. Knobs without a field
        # come from here unchanged.
        self.template = self.base
        self.problem = ""  # why the form cannot start, in the engine's own words ("" when it can)
        # The named folder / weights file last checked in the worker, and what was wrong with them ("": fine)
        self.files_checked: tuple | None = None
        self.files_problem = ""
        self.files_pending: tuple | None = None  # being read in the worker: asked for once, not per keystroke

    def preset_choices(self) -> list[tuple[str, str]]:
        choices = [(p, p) for p in PRESETS]
        if self.base.preset not in PRESETS:
            choices.append((f"{CUSTOM} (the last run's config)", CUSTOM))
        return choices

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="new-run-form"):
            yield Static(Text("New run", style="bold"), id="form-title")
            with Horizontal(id="strategy-boxes"):
                for name in STRATEGIES:
                    yield StateCheckbox(name, value=name in self.base.strategies, id=f"use-{name}")
            with Grid(id="form-grid"):
                yield Label("preset")
                yield Select(self.preset_choices(), value=self.base.preset if self.base.preset in PRESETS
                             else CUSTOM, allow_blank=False, id="preset")
                yield Label("data set")
                yield Select(DATASET_CHOICES, value=self.base.dataset, allow_blank=False, id="dataset")
                yield Label("backend")
                yield Select([(BACKEND_NAMES[b], b) for b in BACKENDS], allow_blank=self.initial_backend is None,
                             value=self.initial_backend or Select.NULL, prompt="choose a backend", id="backend")
                yield Label("scratch model")
                yield Select(SCRATCH_MODELS, value=self.base.scratch_model, allow_blank=False, id="scratch-model")
                for field_id, label in FIELDS:
                    yield Label(label)
                    yield Input(id=field_id, type="integer" if field_id in INTS else "text")
            yield Label("", id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.fill(self.base)

    def fill(self, config: ExperimentConfig) -> None:
        self.query_one("#scratch-model", Select).value = config.scratch_model
        for field_id, _label in FIELDS:
            value = getattr(config, field_id)
            self.query_one(f"#{field_id}", Input).value = "" if value is None else str(value)
        self.check()

    def template_for(self, preset: str) -> ExperimentConfig:
        """The base itself when its own preset is chosen again; otherwise the preset's pure config."""
        if preset == self.base.preset or preset == CUSTOM:
            return self.base
        return preset_config(preset, backend=self.base.backend)

    def on_select_changed(self, event: Select.Changed) -> None:
        # Select also reports its initial value: only a different preset replaces the fields.
        if event.select.id == "preset" and str(event.value) != self.template.preset:
            self.template = self.template_for(str(event.value))
            self.fill(self.template)
        else:
            self.check()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.check()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.check()

    def field_values(self) -> dict[str, Any]:
        """Every field as its config knob; raises `UserError` naming the field for a value of the wrong kind.
        A disabled field (the data folder while digits is chosen) is not set."""
        values: dict[str, Any] = {}
        for field_id, label in FIELDS:
            field = self.query_one(f"#{field_id}", Input)
            text = "" if field.disabled else field.value.strip()
            if not text:
                if field_id in BLANK_IS_NONE:
                    values[field_id] = None
                elif field_id == "name":
                    values[field_id] = ""
                elif field_id in INTS:
                    raise ConfigError(f"{label}: enter a whole number")
                else:
                    values[field_id] = text
            elif field_id in INTS:
                try:
                    values[field_id] = int(text)
                except ValueError:
                    raise ConfigError(f"{label} must be a whole number, got {text!r}") from None
            else:
                values[field_id] = text
        return values

    def read(self) -> ExperimentConfig:
        chosen = tuple(n for n in STRATEGIES if self.query_one(f"#use-{n}", Checkbox).value)
        dataset = str(self.query_one("#dataset", Select).value)
        folder = self.query_one("#data_dir", Input)  # where the data set is read from: nothing to say for digits
        folder.disabled = dataset == "digits"
        folder.placeholder = ("not used with digits" if folder.disabled else "your folder: one sub-folder per class"
                              if dataset == "folder" else "blank: Keras' cache, else download")
        scratch_model = str(self.query_one("#scratch-model", Select).value)
        backend = self.query_one("#backend", Select).value
        if backend is Select.NULL:
            raise ConfigError(self.backend_problem or "choose a backend")
        config = self.template.replace(strategies=chosen, dataset=dataset, scratch_model=scratch_model,
                                       backend=str(backend), **self.field_values())
        if config.train_per_class != self.template.train_per_class:  # a subset asked for: k-shot (#15)
            config = config.replace(val_from="full")
        config = config.validate()
        refusal = switch_refusal(config.backend)  # Keras cannot switch backends in a process
        if refusal:
            raise ConfigError(refusal)
        return config

    def check(self) -> ExperimentConfig | None:
        error = self.query_one("#form-error", Label)
        try:
            config = self.read()
        except UserError as exc:
            self.problem = str(exc)
            error.update(Text(self.problem, style="bold red"))
            self.query_one("#start", Button).disabled = True
            return None
        files = named_files(config)
        if any(files) and files != self.files_checked:  # a worker reads them; until it answers Start waits
            if files != self.files_pending:
                self.files_pending = files
                self.check_files(files)
            self.problem = "checking the data folder and weights file ..."
            error.update(Text(self.problem, style="yellow"))
            self.query_one("#start", Button).disabled = True
            return None
        if any(files) and self.files_problem:
            self.problem = self.files_problem
            error.update(Text(self.problem, style="bold red"))
            self.query_one("#start", Button).disabled = True
            return None
        self.problem = ""
        source = "the last run" if self.template is self.base and self.from_last_run \
            else f"the {self.template.preset} preset"
        error.update(Text(f"{len(config.strategies)} strategies, EfficientNet at {config.transfer_image_size} px; "
                          f"other knobs as in {source}", style="green"))
        self.query_one("#start", Button).disabled = False
        return config

    @work(thread=True, exclusive=True, group="form-files", exit_on_error=False)
    def check_files(self, files: tuple) -> None:
        self.post_message(FilesChecked(files, check_named_files(*files)))

    def on_files_checked(self, message: FilesChecked) -> None:
        self.files_checked, self.files_problem, self.files_pending = message.files, message.problem, None
        self.check()  # an answer for files since retyped starts another check there

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        else:
            self.dismiss(None)

    def action_start(self) -> None:
        if self.files_problem:  # fixed on disk since, without retyping: read them again
            self.files_checked = None
        config = self.check()
        if config is not None:
            self.dismiss(config)
        else:
            # At 80x24 the form's error line is below the fold: ctrl+s on an invalid form did nothing visible.
            self.query_one("#form-error").scroll_visible()
            self.notify(self.problem, title="Cannot start", severity="error")

    def action_dismiss_form(self) -> None:
        self.dismiss(None)


def form_base(config: ExperimentConfig | None, last_run: RunState) -> ExperimentConfig | None:
    """What the New run form starts from: the last config, with what its run fell back to written in (the
    form showed CIFAR-10 / imagenet while Start used digits / random init again, unseen)."""
    if config is None or not config.allow_fallback or not last_run.config:
        return config
    asked = of_state(last_run).requested
    trained = of_state(last_run).effective
    changes = {key: trained[key] for key in ("dataset", "weights") if key in asked}
    if changes.get("dataset") == "digits":
        changes["data_dir"] = None
    return config.replace(**changes, allow_fallback=False) if changes else config
