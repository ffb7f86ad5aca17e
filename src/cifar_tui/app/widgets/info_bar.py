"""What is being looked at, always on screen: run id, data set, weights, device (with its precision and the
Keras backend), status, and any notice that something else than asked for is in use (substitute data,
random init, a deliberate mistake)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cifar_tui.engine.run.state import RunState
from cifar_tui.render.tables import recorded_backend, short_id
from cifar_tui.render.theme import STATUS_STYLES


def info_text(state: RunState, width: int | None = None) -> Text:
    """One line, never wrapped: at `width` columns the labels, then the split sizes, are dropped first, then
    the run id is shortened (`short_id`), and only then is the end cut (with an ellipsis)."""
    if not state.run_id and state.status == "pending":
        return Text("no run yet: press n for a new run, r for past runs", style="dim")
    text = _info(state, labels=True, sizes=True)
    if width is not None and text.cell_len > width:
        text = _info(state, labels=False, sizes=True)
    if width is not None and text.cell_len > width:
        text = _info(state, labels=False, sizes=False)
    if width is not None and text.cell_len > width:  # a long --name or a study cell's id: as the Runs screen
        text = _info(state, labels=False, sizes=False, short=True)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _info(state: RunState, labels: bool, sizes: bool, short: bool = False) -> Text:
    d, w = state.dataset, state.weights

    def label(word: str) -> tuple[str, str]:
        return (f"{word} " if labels else "", "dim")

    dataset = d.get("name", "?")
    counts = f" {d.get('train', '?')}/{d.get('val', '?')}/{d.get('test', '?')}" if d.get("train") and sizes else ""
    # train/val/test counts follow the data set's name
    pretrained = w.get("pretrained")
    weights_label = "ImageNet" if pretrained else ("NO pretrained weights" if pretrained is False else "n/a")
    substitute = bool(d.get("substituted_for"))
    return Text(" │ " if labels else "│", style="dim").join([
        Text.assemble((state.status_text, STATUS_STYLES.get(state.status, ""))),
        Text.assemble(label("run"), ((short_id(state.run_id) if short else state.run_id) or "-", "bold")),
        Text.assemble(label("data"), (dataset.upper() if substitute else dataset, "bold red" if substitute else
                                      "bold"), (counts, "dim"),
                      (f" aug {state.config['augment']}" if state.config.get("augment") and sizes else "", "dim")),
        Text.assemble(label("weights"), (weights_label, "bold" if pretrained else "bold red")),
        Text.assemble(label("device"), str(state.environment.get("device", "-")),
                      (f" {state.environment['precision']}" if state.environment.get("precision") else "", "dim"),
                      (f" {recorded_backend(state)}" if recorded_backend(state) else "", "dim"),
                      (f" x{state.environment['replicas']} replicas" if state.environment.get("replicas", 1) > 1
                       else "", "bold")),
    ])


class InfoBar(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="info-line")
        yield Static(id="notices", classes="hidden")

    state: RunState | None = None

    def on_resize(self) -> None:
        if self.state is not None:
            self.show(self.state)

    def show(self, state: RunState) -> None:
        self.state = state
        self.query_one("#info-line", Static).update(info_text(state, self.content_size.width or None))
        notices = self.query_one("#notices", Static)
        if state.notices:
            # One line per notice: its headline; the full sentence (cause and fix) is in the log panel.
            lines = [f"⚠ {n.split(': ', 1)[0]}" + ("  (why and how to fix: log, key 4)" if ": " in n else "")
                     for n in state.notices]
            notices.update(Text("\n".join(lines)))
            notices.remove_class("hidden")
        else:
            notices.add_class("hidden")
