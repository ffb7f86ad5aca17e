"""Figures a paper could print (issue #25 section 3): every exported figure keeps its text inside the figure
and apart (measured with matplotlib's renderer as each figure is saved), shows every series, fits its axes to
the data, and is not drawn when there is nothing to show."""

from __future__ import annotations

from pathlib import Path

import pytest
from events_factory import CLASSES, full_run, run_started, strategy_events
from matplotlib.figure import Figure
from predictions_factory import record_run_with_predictions
from study_bands_factory import record_bands_study

from cifar_tui.engine.analysis.galleries import transfer_gallery
from cifar_tui.engine.analysis.per_class import per_class
from cifar_tui.engine.report.export import export_run
from cifar_tui.engine.report.export_analysis import backbone_change_figure, per_class_figure
from cifar_tui.engine.report.export_figures import accuracy_bars_figure, confusion_figure, curves_figure
from cifar_tui.engine.report.export_gallery import gallery_figure
from cifar_tui.engine.report.figures import layout_problems
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState

LONG = [f"{name} photographed at dusk from far away" for name in CLASSES]  # image-folder classes can be long
IMAGENET = {"requested": "imagenet", "path": "/k/efficientnetb0_notop.h5", "label": "ImageNet", "pretrained": True}


@pytest.fixture
def saved(monkeypatch):
    """file name -> (figure, its layout problems), for every figure saved while the test runs."""
    out: dict[str, tuple] = {}
    real = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        out[Path(fname).name] = (self, layout_problems(self))
        return real(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return out


def long_names(stream):
    for event in stream:
        if isinstance(event, ev.RunStarted):
            event.dataset = {**event.dataset, "class_names": LONG}
            event.weights = {"label": "random init, trained end to end with BatchNorm training normally (NO "
                                      "pretrained weights)", "pretrained": False}
        if isinstance(event, ev.Evaluated):
            event.class_names = LONG
        if isinstance(event, ev.BackboneChange):
            event.reference = event.reference + " at 224 px from a file with a very long path " + "x" * 60
    return stream


def run_figures(state: RunState) -> dict:
    return {"curves": curves_figure(state), "test": accuracy_bars_figure(state),
            "confusion": confusion_figure(state, "frozen"), "per class": per_class_figure(per_class(state)),
            "backbone": backbone_change_figure(state.strategies["finetune"].backbone_change)}


@pytest.mark.parametrize("names", ["cifar10", "long"])
def test_every_run_figure_keeps_its_text_inside_the_figure_and_apart(names):
    stream = full_run() if names == "cifar10" else long_names(full_run())
    figures = run_figures(RunState.from_events(stream))
    assert {name: problems for name, fig in figures.items() if (problems := layout_problems(fig))} == {}


def test_a_gallery_keeps_its_captions_inside_and_apart(tmp_path):
    record_run_with_predictions(tmp_path)
    gallery = transfer_gallery(tmp_path / "20270115-080000-demo-abcd", ["scratch", "frozen", "finetune"], LONG)
    assert layout_problems(gallery_figure(gallery)[0]) == []


def test_the_export_saves_what_was_measured(tmp_path, saved):
    """The figures export_run writes are the ones measured above, under the same layout."""
    export_run(RunState.from_events(full_run()), tmp_path)
    assert {"accuracy_curves.png", "test_accuracy.png", "confusion_frozen.png", "per_class.png",
            "backbone_change.png"} <= set(saved)
    assert {name: problems for name, (_, problems) in saved.items() if problems} == {}


def test_frozen_drawn_exactly_under_finetunes_head_phase_is_drawn_over_it_and_said():
    """finetune's head phase is frozen's training, point for point: frozen's line used to vanish under it."""
    stream = [run_started(), *strategy_events("scratch", accs=(0.3, 0.4, 0.5)),
              *strategy_events("frozen", epochs=1, accs=(0.7,), test_acc=0.7),
              *strategy_events("finetune", accs=(0.7, 0.8, 0.9), phases=[("head", 1), ("finetune", 2)]),
              ev.RunFinished(status="finished", seconds=1.0)]
    lines = {line.get_label(): line for line in curves_figure(RunState.from_events(stream)).axes[0].get_lines()}
    frozen = lines["frozen validation (= finetune's epoch 1: drawn over it)"]
    finetune = lines["finetune validation"]
    assert frozen.get_zorder() > finetune.get_zorder() and frozen.get_marker() != finetune.get_marker()
    assert frozen.get_markerfacecolor() == "none"  # hollow, larger: finetune's marker shows inside it


def test_a_curve_at_one_stays_inside_the_frame():
    stream = full_run()
    for event in stream:
        if isinstance(event, ev.EpochEnd):
            event.accuracy = 1.0  # a training curve that has fitted its images
    state = RunState.from_events(stream)
    for fig in (curves_figure(state), per_class_figure(per_class(state))):
        low, high = fig.axes[0].get_ylim()
        assert high > 1.0 and low <= 0.0


def test_nothing_is_drawn_before_an_epoch_finished(tmp_path, saved, capfd, recwarn):
    stream = [run_started(), ev.StrategyStarted(strategy="scratch", image_size=32, epochs=3, steps_per_epoch=4,
                                                total_params=10, weights="-")]
    page = export_run(RunState.from_events(stream), tmp_path).read_text()
    assert saved == {} and not list(tmp_path.glob("*.png"))
    assert "No accuracy curves: no epoch finished." in page and "accuracy_curves.png" not in page
    assert capfd.readouterr().err == "" and not [w for w in recwarn if "legend" in str(w.message)]


def study_export(runs_dir, out, title: str | None = None):
    from cifar_tui.cli.study import load_study
    from cifar_tui.engine.study.report import export_study

    record, results, conditions = load_study(runs_dir, "bands-study")
    if title is not None:
        record.title = title
    return export_study(record, results, conditions, out, runs_dir=runs_dir)


def test_study_figures_keep_their_text_inside_and_apart_with_reference_lines(tmp_path, saved):
    record_bands_study(tmp_path, weights=IMAGENET)  # CIFAR-10 with ImageNet weights: published lines drawn
    study_export(tmp_path, tmp_path / "out", "Test accuracy against the share of the training set, " * 3)
    assert {"results.png", "validation_bands.png"} <= set(saved)
    assert {name: problems for name, (_, problems) in saved.items() if problems} == {}
    margin = [t.get_text() for t in saved["results.png"][0].axes[0].texts]
    assert any("98.1%" in t for t in margin) and any("94.0%" in t for t in margin)  # one label's height apart


def test_one_epoch_bands_show_their_points_on_a_whole_epoch_axis(tmp_path, saved, monkeypatch):
    import study_bands_factory

    def one_epoch(name, accs=(0.3,), test_acc=0.5, **_):
        return strategy_events(name, epochs=1, accs=accs[:1], test_acc=test_acc)

    monkeypatch.setattr(study_bands_factory, "strategy_events", one_epoch)
    record_bands_study(tmp_path)
    study_export(tmp_path, tmp_path / "out")
    figure, problems = saved["validation_bands.png"]
    assert problems == []
    for ax in figure.axes[:2]:
        assert ax.get_xlim() == (0.5, 1.5) and list(ax.get_xticks()) == [1]  # was 0.96-1.04
        means = [line for line in ax.get_lines() if line.get_linewidth() == 2]
        assert means and all(line.get_marker() not in (None, "None", "") and line.get_markersize() > 0
                             for line in means)  # a one-point line draws nothing without its marker


def test_a_study_without_a_finished_cell_draws_no_chart(tmp_path, saved):
    record_bands_study(tmp_path, finished_cells=0)
    page = study_export(tmp_path, tmp_path / "out").read_text()
    assert "results.png" not in saved and "No results chart" in page
