"""Export a recorded run as a report: PNG figures (matplotlib), CSVs, and a Markdown or HTML page.

Figures: train/validation accuracy per strategy, test accuracy per strategy, one confusion matrix per
strategy. CSVs: every epoch of every strategy, and each confusion matrix. The page states the data set,
the weights, every notice (substitutions, deliberate mistakes), the configuration and the versions.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

from cifar_tui.engine.analysis.binomial import accuracy_text
from cifar_tui.engine.config.effective_config import of_state, show_setting
from cifar_tui.engine.data.facts import data_facts
from cifar_tui.engine.report.durations import duration
from cifar_tui.engine.report.export_figures import accuracy_bars_figure, confusion_figure, curves_figure
from cifar_tui.engine.report.figures import save
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.runtime.backend import BACKEND_NAMES, DEFAULT_BACKEND

EPOCH_COLUMNS = ("strategy", "phase", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                 "seconds", "images_per_s")


def write_epochs_csv(state: RunState, path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EPOCH_COLUMNS)
        for name, s in state.strategies.items():
            for h in s.history:
                writer.writerow([name] + [h.get(k) for k in EPOCH_COLUMNS[1:]])


def write_confusion_csv(state: RunState, name: str, path: Path) -> None:
    s = state.strategies[name]
    classes = state.dataset.get("class_names") or [str(i) for i in range(len(s.confusion_matrix or []))]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["true \\ predicted", *classes])
        for cls, row in zip(classes, s.confusion_matrix or [], strict=False):
            writer.writerow([cls, *row])


def _save(fig, path: Path) -> bool:
    if fig is None:
        return False
    save(fig, path)
    return True


def export_run(state: RunState, out_dir: Path, fmt: str = "md", run_dir: Path | None = None) -> Path:
    """Write the report into `out_dir`; return the page's path. With the run's folder `run_dir`, the
    report also gets the image galleries of its per-image predictions (engine/report/export_gallery.py)."""
    if fmt not in ("md", "html"):
        raise ValueError("format must be md or html")
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    notes = []
    if _save(curves_figure(state), out_dir / "accuracy_curves.png"):
        figures.append("accuracy_curves.png")
    else:  # an empty plot says nothing: the page says why there is none
        notes.append("No accuracy curves: no epoch finished.")
    write_epochs_csv(state, out_dir / "epochs.csv")
    data_files = ["epochs.csv"]  # the CSVs this export wrote, for the page to list
    if _save(accuracy_bars_figure(state), out_dir / "test_accuracy.png"):
        figures.append("test_accuracy.png")
    for name, s in state.strategies.items():
        if s.confusion_matrix:
            save(confusion_figure(state, name), out_dir / f"confusion_{name}.png")
            write_confusion_csv(state, name, out_dir / f"confusion_{name}.csv")
            figures.append(f"confusion_{name}.png")
            data_files.append(f"confusion_{name}.csv")
    from cifar_tui.engine.report.export_analysis import export_analysis

    analysis_figures = export_analysis(state, out_dir, run_dir)
    figures += analysis_figures
    # Each analysis CSV is written with its figure: one without the other means it was not written this time.
    data_files += [f"{stem}.csv" for stem in ("per_class", "backbone_change") if f"{stem}.png" in analysis_figures]
    from cifar_tui.engine.report.export_gallery import export_galleries

    gallery_figures, unavailable = export_galleries(state, run_dir, out_dir)
    figures += gallery_figures
    if gallery_figures:
        data_files.append("galleries.csv")
    notes += [f"Galleries unavailable: {reason}" for reason in unavailable]
    from cifar_tui.engine.verdict.run import run_verdict

    verdict = run_verdict(state.summary(), run_dir)  # the page starts with it (issue #25)
    page = out_dir / f"report.{fmt}"
    page.write_text(_markdown(state, figures, data_files, notes, verdict) if fmt == "md"
                    else _html(state, figures, data_files, notes, verdict), encoding="utf-8")
    return page


def _facts(state: RunState) -> list[tuple[str, str]]:
    d, w, env = state.dataset, state.weights, state.environment
    backend = env.get("backend") or state.config.get("backend") or DEFAULT_BACKEND  # before #14: TensorFlow
    return [
        ("run", state.run_id), ("status", state.status),
        ("data set", f"{d.get('name')} from {d.get('source')} ({d.get('train')} train / {d.get('val')} validation"
                     f" / {d.get('test')} test)"),
        ("augmentation", str(state.config.get("augment", d.get("augmentation", "-")))),
        ("weights", str(w.get("label", "n/a"))),
        ("versions", f"{BACKEND_NAMES.get(backend, backend)} {env.get(backend)}, Keras {env.get('keras')}, "
                     f"Python {env.get('python')}"),
        ("device", f"{env.get('device', '-')} (Keras backend: {backend})"),
        *data_facts(d),  # an image folder's classes and digest, the distance from ImageNet (issue #29)
    ]


def result_notes(state: RunState) -> list[str]:
    """What a strategy's result means beyond its numbers, one sentence each (finetune tested before
    unfreezing, issue #24)."""
    return [f"{name}: {note}" for name, s in state.strategies.items() if (note := s.note())]


def _rows(state: RunState) -> list[list[str]]:
    def pct(v):
        return "-" if v is None else f"{100 * v:.1f}%"

    def best(s):
        if (partial := s.best_of_finished_epochs()) is not None:  # a cancelled strategy: never tested
            return f"{pct(partial[1])} (epoch {partial[0]}, before it was cancelled)"
        if not s.best_epoch:
            return "-"
        before = ", before unfreezing: fine-tuning did not improve it" if s.note() else ""
        return f"{pct(s.best_val_accuracy)} (epoch {s.best_epoch}{before})"

    def epochs(s):
        if s.status in ("cancelled", "failed") and s.epochs:  # how far it got, not what it was given
            return f"{s.epoch} of {s.epochs}"
        return s.epoch_budget or str(s.epochs or "-")

    def test(s):  # the rules of every other view (render/tables.py comparison_cells)
        if s.status == "cancelled":  # never tested (even before its first epoch): not "-", "no result yet"
            return "untested"
        return accuracy_text(s.test_accuracy, state.dataset.get("test"))

    def params(s):  # a strategy that never started has no model: "-" as elsewhere, not "0 / 0"
        return f"{s.trainable_params:,} / {s.total_params:,}" if s.total_params else "-"

    return [[n, s.status, best(s), test(s), epochs(s), params(s), duration(s.seconds)]
            for n, s in state.strategies.items()]


HEADER = ["strategy", "status", "best validation", "test accuracy ± binomial SE", "epochs",
          "trainable / total params", "time"]


def _method_notes(state: RunState) -> list[str]:
    """How the numbers were computed, for a reader of the report."""
    recipes = [f"Recipe of {name}: {s.recipe}" + (f"; its test accuracy is measured with {s.evaluation}."
                                                  if s.evaluation else ".")
               for name, s in state.strategies.items() if s.recipe]
    notes = [*recipes, f"Test accuracy ± its binomial standard error sqrt(p (1 - p) / n) on the n = "
             f"{state.dataset.get('test', '?')} test images: the sampling error of one number on one test set "
             f"(training noise, which seeds measure, comes on top). The verdict's differences between two "
             f"strategies: McNemar's exact test on their per-image predictions (Dietterich 1998), the run's "
             f"pairs corrected together with Holm's procedure; one run is one seed."]
    if any(s.backbone_change for s in state.strategies.values()):
        notes.append("Fine-tuning analysis: relative weight change ||W - W0|| / ||W0|| per block over the variables "
                     "the optimiser trained, recorded when the backbone was unfrozen (kernels and biases; BatchNorm "
                     "gamma/beta only where they train: random init or bn_mode train; never moving statistics or "
                     "the input Normalization constants); debiased linear CKA between the block's activations "
                     "before and after, computed with the unbiased HSIC estimator (Song et al. 2012; as in "
                     "Nguyen, Raghu & Kornblith 2021), which plain linear CKA's bias towards 1 at few images and "
                     "many features does not affect.")
    return notes


def _markdown(state: RunState, figures: list[str], data_files: list[str], notes: list[str] = (),
              verdict=None) -> str:
    lines = [f"# cifar-tui run {state.run_id}", "", *(verdict.markdown() if verdict is not None else [])]
    lines += [f"- **{k}**: {v}" for k, v in _facts(state)]
    lines += [f"- **NOTICE**: {n}" for n in state.notices]
    lines += [f"- **NOTE**: {n}" for n in result_notes(state)]
    lines += ["", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(state)]
    lines += [""] + [f"![{f}]({f})" for f in figures]
    lines += [f"\n{n}" for n in notes]
    lines += [line for note in _method_notes(state) for line in ("", note)]
    lines += ["", "Data: " + ", ".join(f"`{f}`" for f in data_files) + ".",
              "", "## Configuration", "", _config_intro(state)[0], *[f"- **{a}**" for a in _config_intro(state)[1]],
              "", "```json", _effective_json(state), "```", ""]
    return "\n".join(lines)


def _config_intro(state: RunState) -> tuple[str, list[str]]:
    """The configuration section's first line, and one line per key the run resolved to something else than
    what it asked for ("dataset: digits (asked cifar10)")."""
    recorded = of_state(state)
    asked = [f"{key}: {show_setting(recorded.effective[key], value, True)}"
             for key, value in recorded.requested.items()]
    intro = "What trained" + (", with what was asked for where that differs:" if asked else
                              " (every key as asked for):")
    return intro, asked


def _effective_json(state: RunState) -> str:
    return json.dumps(of_state(state).effective, indent=2)


def _html(state: RunState, figures: list[str], data_files: list[str], notes: list[str] = (), verdict=None) -> str:
    e = html.escape
    facts = "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in _facts(state))
    facts += "".join(f"<li><b>NOTICE</b>: {e(n)}</li>" for n in state.notices)
    facts += "".join(f"<li><b>NOTE</b>: {e(n)}</li>" for n in result_notes(state))
    head = "".join(f"<th>{e(h)}</th>" for h in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in _rows(state))
    images = "".join(f'<p><img src="{e(f)}" alt="{e(f)}"></p>' for f in figures)
    images += "".join(f"<p>{e(n)}</p>" for n in notes)
    images += "".join(f"<p>{e(n)}</p>" for n in _method_notes(state))
    intro, asked = _config_intro(state)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>cifar-tui run {e(state.run_id)}</title></head>"
            f"<body><h1>cifar-tui run {e(state.run_id)}</h1>{verdict.html() if verdict is not None else ''}"
            f"<ul>{facts}</ul><table border='1'><tr>{head}</tr>"
            f"{body}</table>{images}<p>Data: {e(', '.join(data_files))}</p><h2>Configuration</h2>"
            f"<p>{e(intro)}</p><ul>{''.join(f'<li><b>{e(a)}</b></li>' for a in asked)}</ul>"
            f"<pre>{e(_effective_json(state))}</pre></body></html>\n")
