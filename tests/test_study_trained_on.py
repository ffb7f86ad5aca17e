"""Study reports, `studies show`, the Studies screen and study CSVs name the data set and weights their cells
trained on (issue #25 section 2): a digits + random-init study used to mention neither."""

from __future__ import annotations

import csv

from study_bands_factory import record_bands_study
from test_app import until
from test_study_app import rendered_text
from typer.testing import CliRunner

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.cli.main import app as cli
from cifar_tui.engine.store.reader import list_runs

runner = CliRunner()
RANDOM = {"requested": "imagenet", "path": None, "label": "random init (NO pretrained weights)",
          "pretrained": False, "notice": "RANDOM INIT USED INSTEAD OF IMAGENET WEIGHTS: offline"}
SAID = "Trained on: digits (asked cifar10), random init (asked ImageNet weights) (all 5 cells with a run)"


def record_fallback_study(runs_dir):
    """The bands study's cells, each run asked for CIFAR-10 and ImageNet and fell back to digits, random init."""
    record_bands_study(runs_dir, dataset={"name": "digits", "substituted_for": "cifar10"}, weights=RANDOM)
    for listing in list_runs(runs_dir):  # the factory's config names no data set: give it the one asked for
        events = (listing.path / "events.jsonl").read_text().splitlines()
        events[0] = events[0].replace('"config":{', '"config":{"dataset":"cifar10","weights":"imagenet",', 1)
        (listing.path / "events.jsonl").write_text("\n".join(events) + "\n")
        (listing.path / "summary.json").unlink()  # the listing reads the events again


def test_studies_show_and_the_export_name_the_cells_data_and_weights(tmp_path):
    record_fallback_study(tmp_path)
    shown = runner.invoke(cli, ["studies", "show", "bands-study", "--runs-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert SAID in " ".join(shown.output.split())
    out = tmp_path / "export"
    assert runner.invoke(cli, ["studies", "export", "bands-study", "--runs-dir", str(tmp_path),
                               "--out", str(out)]).exit_code == 0
    assert SAID in (out / "report.md").read_text()
    rows = list(csv.DictReader((out / "cells.csv").open()))
    ran = [r for r in rows if r["run_id"]]
    assert len(ran) == 5 and {(r["dataset"], r["weights"], r["asked"]) for r in ran} == {
        ("digits", "none", "dataset=cifar10 weights=imagenet")}


async def test_the_studies_screen_names_the_cells_data_and_weights(tmp_path):
    record_fallback_study(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("y")
        stats = app.screen.query_one("#study-stats")
        await until(pilot, lambda: "Trained on" in rendered_text(stats.content))  # below the verdict
        assert SAID in " ".join(rendered_text(stats.content).split())


def test_cells_of_a_study_on_cifar10_with_imagenet_weights_say_so(tmp_path):
    pretrained = {"requested": "imagenet", "path": "/k/efficientnetb0_notop.h5", "label": "ImageNet",
                  "pretrained": True}
    record_bands_study(tmp_path, weights=pretrained)
    shown = runner.invoke(cli, ["studies", "show", "bands-study", "--runs-dir", str(tmp_path)]).output
    assert "Trained on: cifar10, ImageNet weights (all 5 cells with a run)" in " ".join(shown.split())
