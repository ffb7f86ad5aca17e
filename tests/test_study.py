"""Studies: spec parsing and errors, a tiny real study that resumes, statistics against hand computation."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest

from engine.errors import ConfigError, StoreError
from engine.study.record import load_record
from engine.study.runner import run_study
from engine.study.spec import load_spec, parse_spec, shipped_studies
from engine.study.stats import CellResult, aggregate

TINY = {
    "name": "tiny", "x": "train_fraction",
    "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch"], "scratch_epochs": 1,
             "batch_size": 32, "test_limit": 50},
    "axes": {"train_fraction": [0.2, 0.4], "seed": [0, 1]},
}


def test_shipped_studies_parse_and_expand():
    assert shipped_studies() == ["data-efficiency", "finetune-lr", "preprocessing-ablation", "resolution",
                                 "seed-replication"]
    ablation = load_spec("preprocessing-ablation").cells()
    assert len(ablation) == 12
    by_variant = {c.key["variant"]: c.config for c in ablation if c.key["seed"] == 0}
    assert (by_variant["correct"].input_scaling, by_variant["correct"].bn_mode) == ("raw", "inference")
    assert by_variant["divided-by-255"].input_scaling == "unit" and by_variant["bn-train"].bn_mode == "train"
    assert by_variant["correct"].mistakes() == [] and len(by_variant["both-mistakes"].mistakes()) == 2
    # BatchNorm in training mode changes only finetune's unfrozen phase: no frozen cell runs under it
    assert {c.config.strategies for c in ablation if c.config.bn_mode == "train"} == {("finetune",)}
    for cell in (c for name in shipped_studies() for c in load_spec(name).cells()):
        assert cell.config.no_effect() == []  # validation refuses such cells; this says why none exist
    variants = {c.key["variant"]: c.config for c in load_spec("seed-replication").cells() if c.key["seed"] == 0}
    notebook = variants["notebook"]
    assert (notebook.scratch_model, notebook.scratch_image_size, notebook.select_on) == ("notebook", 224, "test")
    assert (notebook.batch_size, notebook.head_units, notebook.dropout, notebook.augment) == (32, 256, 0.0, "none")
    assert (notebook.finetune_from, notebook.keep, notebook.bn_mode, notebook.finetune_lr) == (
        "frozen", "last", "train", 1e-5)
    assert notebook.frozen_epochs == notebook.scratch_epochs == 5 and notebook.finetune_epochs == 3
    v2 = variants["notebook-v2"]
    assert (v2.dropout, v2.finetune_lr, v2.finetune_epochs, v2.head_epochs) == (0.4, 1e-6, 15, 0)
    assert (v2.finetune_patience, v2.keep, v2.finetune_from) == (2, "last", "")
    lr = load_spec("finetune-lr").cells()
    assert {(c.config.finetune_lr, c.config.unfreeze_blocks) for c in lr} == {
        (lr_, u) for lr_ in (1e-5, 1e-4, 1e-3) for u in (0, 3)}
    quick = load_spec("data-efficiency", {"preset": "quick"}).cells()[0].config
    assert quick.train_fraction == 0.01 and quick.train_per_class is None  # the axis replaces per-class


@pytest.mark.parametrize("change,message", [
    ({"axes": {}}, "needs at least one axis"),
    ({"axes": {"sed": [0]}, "x": "sed"}, "unknown axis 'sed'"),
    ({"axes": {"seed": []}, "x": "seed"}, "must be a non-empty list"),
    ({"axes": {"seed": [0, 0]}, "x": "seed"}, "repeats a value"),
    ({"axes": {"variant": ["a"]}, "x": "variant"}, "has no [variants.a] table"),
    ({"x": "image_size"}, "is not one of its axes"),
    ({"axes": {"epochs": [0, 1]}, "x": "epochs"}, "cell epochs=0: scratch epochs must be at least 1"),
    ({"axes": {"train_fraction": [0.5, 1.5]}}, "cell train_fraction=1.5: train fraction must be in (0, 1]"),
    ({"base": {"preset": "huge"}}, "unknown preset 'huge'"),
    ({"base": {"learning": 1}}, "unknown knob 'learning' in [base]"),
    ({"axes": {"variant": ["a"]}, "x": "variant", "variants": {"a": {"colour": 1}}},
     "unknown knob 'colour' in [variants.a]"),
    ({"name": "../evil"}, "not allowed"),
    ({"colour": "red"}, "unknown key(s) colour"),
])
def test_bad_specs_are_one_clear_error(change, message):
    with pytest.raises(ConfigError) as info:
        parse_spec({**TINY, **change})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_malformed_toml_through_the_cli_is_one_line_exit_2(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "bad"\n[axes\nseed = [0]\n')
    code = "import sys; from tui.cli import main; main(sys.argv[1:])"
    out = subprocess.run([sys.executable, "-c", code, "study", str(spec), "--runs-dir", str(tmp_path / "runs")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "not valid TOML" in out.stderr
    assert not (tmp_path / "runs").exists()


def test_statistics_match_a_hand_computation():
    accs = {("a", 0): (0.50, 0.80), ("a", 1): (0.54, 0.83), ("a", 2): (0.49, 0.86), ("b", 0): (0.6, 0.7)}
    results = [CellResult(i, {"size": size, "seed": seed}, "", f"r{i}", "finished",
                          {"scratch": s, "finetune": f})
               for i, ((size, seed), (s, f)) in enumerate(accs.items())]
    results.append(CellResult(9, {"size": "b", "seed": 1}, "", "r9", "failed", {"scratch": 0.1}))  # not counted
    a, b = aggregate(results)
    scratch = [0.50, 0.54, 0.49]
    assert a.per_strategy["scratch"].mean == pytest.approx(statistics.fmean(scratch))
    assert a.per_strategy["scratch"].std == pytest.approx(statistics.stdev(scratch))
    assert a.per_strategy["scratch"].n == 3
    (diff,) = a.differences
    per_seed = [0.80 - 0.50, 0.83 - 0.54, 0.86 - 0.49]
    assert diff.mean == pytest.approx(statistics.fmean(per_seed))
    assert diff.se == pytest.approx(statistics.stdev(per_seed) / 3 ** 0.5)
    assert diff.verdict == "exceeds seed spread"
    assert b.per_strategy["scratch"].n == 1 and b.per_strategy["scratch"].std is None
    assert b.differences[0].verdict.startswith("n<2")
    noisy = aggregate([CellResult(i, {"seed": i}, "", "", "finished", {"scratch": s, "finetune": f})
                       for i, (s, f) in enumerate([(0.5, 0.6), (0.6, 0.5), (0.55, 0.56)])])
    assert noisy[0].differences[0].verdict == "within seed spread"


@pytest.mark.slow
def test_tiny_study_runs_resumes_without_rerunning_and_aggregates(tmp_path):
    spec = parse_spec(TINY)
    runs = tmp_path / "runs"
    first = []

    def stop_after_two(outcome):
        first.append(outcome)
        if len(first) == 2:
            stop.set()

    import threading

    stop = threading.Event()
    run_study(spec, runs, stop, on_cell=stop_after_two, redirect_native_log=False)
    assert [o.action for o in first] == ["new", "new"] and all(o.status == "finished" for o in first)
    done_ids = [o.run_id for o in first]
    # the second cell's run is damaged into "failed": it must be rerun, in a new run
    summary_path = runs / done_ids[1] / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["status"] = "failed"
    summary_path.write_text(json.dumps(summary))

    second = run_study(spec, runs, on_cell=None, redirect_native_log=False)
    assert [o.action for o in second] == ["skipped", "new", "new", "new"]
    assert second[0].run_id == done_ids[0] and second[1].run_id != done_ids[1]
    record = load_record(runs, "tiny")
    assert record.cells[1].run_ids == [done_ids[1], second[1].run_id]  # the failed attempt stays in history
    for outcome in second:  # each cell is a normal run whose config is its cell's
        stored = json.loads((runs / outcome.run_id / "config.json").read_text())["config"]
        assert (stored["train_fraction"], stored["seed"]) == (outcome.cell.key["train_fraction"],
                                                            outcome.cell.key["seed"])

    from engine.study.stats import cell_results

    results = cell_results(record, runs)
    conditions = aggregate(results)
    for condition, fraction in zip(conditions, (0.2, 0.4), strict=True):
        values = [r.test_accuracy["scratch"] for r in results if r.key["train_fraction"] == fraction]
        assert condition.per_strategy["scratch"].mean == pytest.approx(statistics.fmean(values))
        assert condition.per_strategy["scratch"].std == pytest.approx(statistics.stdev(values))
        assert condition.per_strategy["scratch"].n == 2

    changed = parse_spec({**TINY, "axes": {"train_fraction": [0.3], "seed": [0]}})
    with pytest.raises(StoreError, match="another grid"):
        run_study(changed, runs)


@pytest.mark.slow
def test_parallel_study_runs_cells_in_child_processes_sharing_the_runs_folder(tmp_path):
    from engine.study.parallel import run_study_parallel

    spec = parse_spec({**TINY, "axes": {"train_fraction": [0.3], "seed": [0, 1]}})
    runs = tmp_path / "runs"
    outcomes = run_study_parallel(spec, runs, parallel=2, gpus=[])
    assert [o.status for o in outcomes] == ["finished", "finished"]
    assert all(o.summary["strategies"]["scratch"]["test_accuracy"] is not None for o in outcomes)
    record = load_record(runs, "tiny")
    assert [c.run_id for c in record.cells] == [o.run_id for o in outcomes]
    assert len({o.run_id for o in outcomes}) == 2
    logs = sorted(p.name for p in (runs / ".studies" / "tiny" / "logs").iterdir())
    assert logs == ["cell-000.log", "cell-001.log"]
    again = run_study_parallel(spec, runs, parallel=2, gpus=[])  # resumable like the sequential runner
    assert [o.action for o in again] == ["skipped", "skipped"]
