"""Study bands, progress (ETA) and published reference lines, checked against the per-seed values."""

from __future__ import annotations

import statistics

import pytest
from study_bands_factory import SECONDS, curves, record_bands_study

from cifar_tui.engine.study.bands import make_band, validation_bands
from cifar_tui.engine.study.progress import study_progress
from cifar_tui.engine.study.record import list_studies
from cifar_tui.engine.study.references import FEW_SHOT, PUBLISHED, references_for
from cifar_tui.engine.study.stats import cell_results

IMAGENET = {"requested": "imagenet", "label": "ImageNet (test)", "pretrained": True}


def results_of(runs_dir):
    (record,) = list_studies(runs_dir)
    return record, cell_results(record, runs_dir)


def test_band_numbers_are_the_per_seed_statistics(tmp_path):
    record_bands_study(tmp_path)  # 5 of 6 cells: fraction 1.0 has seeds 0 and 1 only
    _, results = results_of(tmp_path)
    bands = {(b.strategy, b.condition["train_fraction"]): b for b in validation_bands(results, tmp_path)}
    assert set(bands) == {(s, f) for s in ("scratch", "finetune") for f in (0.1, 1.0)}
    for (strategy, fraction), band in bands.items():
        seeds = [0, 1, 2] if fraction == 0.1 else [0, 1]
        assert sorted(band.per_seed) == seeds and band.epochs == [1, 2, 3]
        for k in range(3):
            values = [curves(fraction, s)[strategy][k] for s in seeds]
            assert band.per_seed[seeds[-1]][k] == values[-1]
            assert band.mean[k] == pytest.approx(statistics.fmean(values))
            assert (band.low[k], band.high[k]) == (min(values), max(values))
            assert band.std[k] == pytest.approx(statistics.stdev(values)) and band.n[k] == len(seeds)


def test_band_with_a_seed_that_stopped_early():
    band = make_band("scratch", {}, {0: {1: 0.2, 2: 0.4}, 1: {1: 0.3}})
    assert band.n == [2, 1] and band.mean == pytest.approx([0.25, 0.4])
    assert band.std[1] is None and band.per_seed[1] == [0.3, None]


def test_progress_counts_cells_and_estimates_the_rest(tmp_path):
    record_bands_study(tmp_path, finished_cells=4)
    _, results = results_of(tmp_path)
    progress = study_progress(results, tmp_path)
    assert (progress.done, progress.total, progress.remaining) == (4, 6, 2)
    assert progress.elapsed_s == 4 * SECONDS and progress.eta_s == 2 * SECONDS
    assert "cells 4/6" in progress.text() and "ETA 2m00s" in progress.text()


def test_reference_lines_only_for_cifar10_with_imagenet_weights(tmp_path):
    record_bands_study(tmp_path / "a", weights=IMAGENET)  # events_factory's data set is cifar10
    _, results = results_of(tmp_path / "a")
    assert references_for("train_fraction", results, tmp_path / "a") == [*PUBLISHED, *FEW_SHOT]
    assert references_for("image_size", results, tmp_path / "a") == list(PUBLISHED)  # BiT few-shot: data only
    record_bands_study(tmp_path / "b", weights=IMAGENET, dataset={"name": "digits", "substituted_for": "cifar10"})
    _, results = results_of(tmp_path / "b")
    assert references_for("train_fraction", results, tmp_path / "b") == []
    record_bands_study(tmp_path / "c", weights={"requested": "none", "label": "random", "pretrained": False})
    _, results = results_of(tmp_path / "c")
    assert references_for("train_fraction", results, tmp_path / "c") == []


def test_study_export_draws_bands_and_reference_lines(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import cifar_tui.engine.study.results_plot as results_plot
    from cifar_tui.cli.main import app

    drawn = []
    real = results_plot.draw_reference_lines
    monkeypatch.setattr(results_plot, "draw_reference_lines", lambda ax, refs: (drawn.append(refs), real(ax, refs)))
    record_bands_study(tmp_path / "runs", weights=IMAGENET)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["studies", "export", "bands-study", "--runs-dir", str(tmp_path / "runs"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "validation_bands.png").stat().st_size > 10_000
    assert "validation_bands.png" in (out / "report.md").read_text()
    assert drawn == [[*PUBLISHED, *FEW_SHOT]]
