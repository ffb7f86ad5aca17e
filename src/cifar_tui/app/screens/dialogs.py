"""Small modal dialogs: confirm quitting during a run; a run that cannot start, with ways out."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class Confirm(ModalScreen[bool]):
    """A yes/no question; y / n / escape answer it from the keyboard."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str, yes: str, no: str) -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ConfirmQuit(Confirm):
    def __init__(self) -> None:
        super().__init__("A run is in progress. Stop it and quit?\n"
                         "(Everything so far is recorded; the run is marked cancelled.)", "Stop and quit",
                         "Keep running")


# What the user can do instead, by kind of failure: (button id, label)
ALTERNATIVES = {
    "data": [("digits", "Use the digits data set (offline)"), ("form", "Set a data dir...")],
    "weights": [("weights-none", "Train without pretrained weights"), ("form", "Set a weights file...")],
    "inputs": [("offline", "Digits and random init (offline)"), ("form", "Set both...")],
}


class StartFailed(ModalScreen[str]):
    """Returns the id of the chosen way out: 'digits', 'weights-none', 'offline' (both), 'form' or 'close'."""

    BINDINGS = [Binding("escape", "dismiss('close')", "Close")]

    def __init__(self, message: str, kind: str) -> None:
        super().__init__()
        self.message, self.kind = message, kind

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("The run could not start", style="bold red"))
            yield Static(Text(self.message), id="start-failed-message")
            with Horizontal(classes="dialog-buttons"):
                for button_id, label in ALTERNATIVES.get(self.kind, []):
                    yield Button(label, id=button_id, variant="primary")
                yield Button("Close", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "close")


class AnnotateRun(ModalScreen[tuple[str, str] | None]):
    """A display name and a note for a run; enter saves, escape cancels."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, run_id: str, name: str, note: str) -> None:
        super().__init__()
        self.run_id, self.name_value, self.note_value = run_id, name, note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Name and note of {self.run_id}", style="bold"))
            yield Label("display name (the run id stays)")
            yield Input(self.name_value, id="annotate-name")
            yield Label("note")
            yield Input(self.note_value, id="annotate-note")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def _values(self) -> tuple[str, str]:
        return self.query_one("#annotate-name", Input).value, self.query_one("#annotate-note", Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(self._values())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self._values() if event.button.id == "save" else None)
