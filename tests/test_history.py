"""Run history outside the app: compare, export (figures, CSVs, page), following a growing events file."""

from __future__ import annotations

import csv
import json
import struct

import pytest
from events_factory import full_run, record_runs, run_started, strategy_events
from typer.testing import CliRunner

from cifar_tui.cli.main import app
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.run.state import RunState
from cifar_tui.engine.store.follow import EventFollower

runner = CliRunner()


def seed(runs_dir):
    record_runs(runs_dir, ("20270115-080000-alpha-0001", "20270116-080000-beta-0002"))


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_runs_compare_table_and_json(tmp_path):
    seed(tmp_path)
    result = runner.invoke(app, ["runs", "compare", "alpha", "beta", "--runs-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["run_id"] for d in data] == ["20270115-080000-alpha-0001", "20270116-080000-beta-0002"]
    assert data[1]["strategies"]["finetune"]["test_accuracy"] == 0.9
    table = runner.invoke(app, ["runs", "compare", "alpha", "beta", "--runs-dir", str(tmp_path)]).output
    assert table.count("finetune") == 2 and "90.0%" in table
    bad = runner.invoke(app, ["runs", "compare", "alpha", "nope", "--runs-dir", str(tmp_path)])
    assert bad.exit_code == 2
    for refs in (["alpha"], ["alpha", "20270115-080000-alpha-0001"]):  # one run, or one run twice
        alone = runner.invoke(app, ["runs", "compare", *refs, "--runs-dir", str(tmp_path)])
        assert alone.exit_code == 2 and "two or more different runs" in alone.output


def test_export_writes_figures_csvs_and_page_with_the_runs_numbers(tmp_path):
    seed(tmp_path / "runs")
    out = tmp_path / "report"
    for fmt in ("md", "html"):
        result = runner.invoke(app, ["runs", "export", "alpha", "--runs-dir", str(tmp_path / "runs"),
                                     "--out", str(out), "--format", fmt])
        assert result.exit_code == 0, result.output
    for name in ("accuracy_curves", "test_accuracy", "confusion_scratch", "confusion_frozen", "confusion_finetune",
                 "per_class", "backbone_change"):
        width, height = png_size(out / f"{name}.png")
        assert width >= 400 and height >= 300 and (out / f"{name}.png").stat().st_size > 10_000
    rows = list(csv.DictReader(open(out / "epochs.csv")))
    assert len(rows) == 9
    frozen_last = [r for r in rows if r["strategy"] == "frozen"][-1]
    assert float(frozen_last["val_accuracy"]) == 0.8 and frozen_last["epoch"] == "3"
    cm = list(csv.reader(open(out / "confusion_finetune.csv")))
    assert cm[0][1] == "airplane" and [int(v) for v in cm[1][1:3]] == [3, 1]
    assert sum(int(v) for row in cm[1:] for v in row[1:]) == 40
    per_class = list(csv.DictReader(open(out / "per_class.csv")))
    assert per_class[0]["class"] == "airplane" and float(per_class[0]["finetune_accuracy"]) == 0.75  # 3 of 4
    assert float(per_class[0]["finetune-scratch"]) == pytest.approx(0.75 - 0.5)
    change = list(csv.DictReader(open(out / "backbone_change.csv")))
    assert [r["block"] for r in change][:2] == ["stem", "block1"] and float(change[-1]["debiased_linear_cka"]) == 0.5
    page = (out / "report.md").read_text()
    assert "cifar10" in page and "ImageNet (test)" in page and "80.0 ± 6.3%" in page
    assert "binomial standard error" in page and "debiased linear CKA" in page and "unbiased HSIC" in page
    assert "TensorFlow 2.21.0" in page
    assert "<img src=\"accuracy_curves.png\"" in (out / "report.html").read_text()


def test_export_says_when_data_was_substituted(tmp_path):
    stream = full_run()
    stream[0].notices = ["DIGITS USED INSTEAD OF CIFAR-10: offline"]
    from cifar_tui.engine.report.export import export_run

    page = export_run(RunState.from_events(stream), tmp_path / "r", "md").read_text()
    assert "NOTICE**: DIGITS USED INSTEAD OF CIFAR-10" in page


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_export_lists_only_the_data_files_it_wrote(tmp_path, fmt):
    """A run without finetune writes no backbone_change.csv: the page named it all the same."""
    from cifar_tui.engine.report.export import export_run

    stream = [run_started(strategies=("scratch", "frozen")), *strategy_events("scratch"),
              *strategy_events("frozen", test_acc=0.8), ev.RunFinished(status="finished", seconds=1.0)]
    out = tmp_path / "r"
    page = export_run(RunState.from_events(stream), out, fmt).read_text()
    data_line = next(line for line in page.replace("<p>", "\n").replace("</p>", "\n").splitlines()
                     if line.startswith("Data:"))
    listed = [name.strip("`. ") for name in data_line.removeprefix("Data:").split(",")]
    assert "backbone_change.csv" not in listed and not (out / "backbone_change.csv").exists()
    assert sorted(listed) == sorted(path.name for path in out.glob("*.csv"))  # every CSV written, and only those


def test_export_bad_format_and_unknown_run(tmp_path):
    seed(tmp_path)
    bad_format = runner.invoke(app, ["runs", "export", "alpha", "--format", "pdf", "--runs-dir", str(tmp_path)])
    assert bad_format.exit_code == 2
    assert runner.invoke(app, ["runs", "export", "zzz", "--runs-dir", str(tmp_path)]).exit_code == 2


def test_follower_reads_only_complete_lines_as_the_file_grows(tmp_path):
    path = tmp_path / "events.jsonl"
    follower = EventFollower(path)
    assert follower.poll() == []  # not created yet
    events = [run_started(), *strategy_events("scratch", epochs=1, steps=2)]
    lines = [e.to_json() + "\n" for e in events]
    with open(path, "w") as f:
        f.write(lines[0] + lines[1][:10])  # second line half written
        f.flush()
        assert [e.type for e in follower.poll()] == ["run_started"]
        f.write(lines[1][10:] + "garbage line\n" + "".join(lines[2:]))
        f.flush()
    got = follower.poll()
    assert [e.type for e in got] == [e.type for e in events[1:]]
    assert follower.skipped == 1
    assert follower.poll() == []
    assert isinstance(got[-1], ev.StrategyFinished)


def test_rename_and_annotate_a_run(tmp_path):
    seed(tmp_path)
    result = runner.invoke(app, ["runs", "note", "alpha", "--name", "baseline", "--note", "lr 1e-5, 224 px",
                                 "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "run 20270115-080000-alpha-0001: name 'baseline'; note 'lr 1e-5, 224 px'"
    listed = {r["run_id"]: r for r in json.loads(runner.invoke(app, ["runs", "list", "--json", "--runs-dir",
                                                                      str(tmp_path)]).output)}
    alpha = listed["20270115-080000-alpha-0001"]
    assert alpha["name"] == "baseline" and alpha["note"] == "lr 1e-5, 224 px"
    assert (tmp_path / "20270115-080000-alpha-0001").is_dir()  # the id and folder stay
    assert runner.invoke(app, ["runs", "note", "alpha", "--runs-dir", str(tmp_path)]).exit_code == 2
