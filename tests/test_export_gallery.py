"""`runs export` galleries: the PNG grids exist with the expected size, and their captions (listed in
galleries.csv) name the right classes for the right test images."""

from __future__ import annotations

import csv
import struct

from events_factory import CLASSES, record_runs
from predictions_factory import record_run_with_predictions
from typer.testing import CliRunner

from cifar_tui.cli.main import app
from cifar_tui.engine.report.export_gallery import figure_size_px
from cifar_tui.engine.store.predictions import read_predictions

runner = CliRunner()
RUN = "20270115-080000-demo-abcd"


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def export(runs_dir, out):
    result = runner.invoke(app, ["runs", "export", RUN, "--runs-dir", str(runs_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "report.md").read_text()


def test_export_writes_gallery_grids_with_the_right_captions(tmp_path):
    record_run_with_predictions(tmp_path / "runs")
    page = export(tmp_path / "runs", tmp_path / "out")
    rows = list(csv.DictReader(open(tmp_path / "out" / "galleries.csv")))
    recorded = {n: read_predictions(tmp_path / "runs" / RUN, n) for n in ("scratch", "frozen", "finetune")}
    # whose predictions each figure shows: top losses their strategy's; fixed scratch's; broken finetune's
    owner = {f"gallery_top_losses_{n}.png": n for n in recorded} | {
        "gallery_fixed_by_transfer.png": "scratch", "gallery_broken_by_transfer.png": "finetune"}
    for figure, strategy in owner.items():
        shown = [r for r in rows if r["figure"] == figure]
        assert shown, figure
        assert png_size(tmp_path / "out" / figure) == figure_size_px(len(shown))
        assert f"![{figure}]({figure})" in page
        for row in shown:
            index = int(row["test_index"])
            true, predicted = (CLASSES[int(recorded[strategy].labels[index])],
                               CLASSES[int(recorded[strategy].predicted[index])])
            assert (row["true"], row["predicted"]) == (true, predicted)
            assert row["caption"].startswith(f"{true}→{predicted} ")
    fixed = [r for r in rows if r["figure"] == "gallery_fixed_by_transfer.png"]
    assert all(r["true"] != r["predicted"] for r in fixed)  # scratch's mistakes that finetune fixed
    expected = sum(recorded["scratch"].wrong & ~recorded["finetune"].wrong)
    assert len(fixed) == min(24, expected)


def test_export_of_an_older_run_says_galleries_are_unavailable(tmp_path):
    record_runs(tmp_path / "runs", (RUN,))
    page = export(tmp_path / "runs", tmp_path / "out")
    assert "Galleries unavailable" in page and "unavailable" in page
    assert not list((tmp_path / "out").glob("gallery_*.png"))
