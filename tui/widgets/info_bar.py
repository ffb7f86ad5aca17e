"""What is being looked at, always on screen: run id, data set, weights, device, status, and any notice
that something else than asked for is in use (substitute data, random init, a deliberate mistake)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from engine.state import RunState
from tui.theme import STATUS_STYLES


def info_text(state: RunState) -> Text:
    d, w = state.dataset, state.weights
    if not state.run_id and state.status == "pending":
        return Text("no run yet: press n for a new run, r for past runs", style="dim")
    dataset = d.get("name", "?")
    sizes = f" {d.get('train', '?')}/{d.get('val', '?')}/{d.get('test', '?')}" if d.get("train") else ""
    # train/val/test counts follow the data set's name
    pretrained = w.get("pretrained")
    weights_label = "ImageNet" if pretrained else ("NO pretrained weights" if pretrained is False else "n/a")
    substitute = bool(d.get("substituted_for"))
    return Text(" │ ", style="dim").join([
        Text.assemble((state.status, STATUS_STYLES.get(state.status, ""))),
        Text.assemble(("run ", "dim"), (state.run_id or "-", "bold")),
        Text.assemble(("data ", "dim"), (dataset.upper() if substitute else dataset, "bold red" if substitute else
                                         "bold"), (sizes, "dim"),
                      (f" aug {state.config['augment']}" if state.config.get("augment") else "", "dim")),
        Text.assemble(("weights ", "dim"), (weights_label, "bold" if pretrained else "bold red")),
        Text.assemble(("device ", "dim"), str(state.environment.get("device", "-")),
                      (f" {state.environment['precision']}" if state.environment.get("precision") else "", "dim"),
                      (f" x{state.environment['replicas']} replicas" if state.environment.get("replicas", 1) > 1
                       else "", "bold")),
    ])


class InfoBar(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="info-line")
        yield Static(id="notices", classes="hidden")

    def show(self, state: RunState) -> None:
        self.query_one("#info-line", Static).update(info_text(state))
        notices = self.query_one("#notices", Static)
        if state.notices:
            # One line per notice: its headline; the full sentence (cause and fix) is in the log panel.
            lines = [f"⚠ {n.split(': ', 1)[0]}" + ("  (why and how to fix: log, key 4)" if ": " in n else "")
                     for n in state.notices]
            notices.update(Text("\n".join(lines)))
            notices.remove_class("hidden")
        else:
            notices.add_class("hidden")
