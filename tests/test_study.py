"""Studies: spec parsing and errors, a tiny real study that resumes, statistics against hand computation."""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys

import pytest

from cifar_tui.engine.errors import ConfigError, StoreError
from cifar_tui.engine.study.record import load_record
from cifar_tui.engine.study.runner import run_study
from cifar_tui.engine.study.spec import load_spec, parse_spec, shipped_studies
from cifar_tui.engine.study.stats import CellResult, aggregate, compare_with_reference

TINY = {
    "name": "tiny", "x": "train_fraction",
    "base": {"preset": "custom", "dataset": "digits", "strategies": ["scratch"], "scratch_epochs": 1,
             "batch_size": 32, "test_limit": 50},
    "axes": {"train_fraction": [0.2, 0.4], "seed": [0, 1]},
}


def test_shipped_studies_parse_and_expand():
    assert shipped_studies() == ["data-efficiency", "data-efficiency-cpu", "domains", "finetune-lr",
                                 "preprocessing-ablation", "resolution", "seed-replication"]
    ablation = load_spec("preprocessing-ablation").cells()
    assert len(ablation) == 15
    by_variant = {c.key["variant"]: c.config for c in ablation if c.key["seed"] == 0}
    assert (by_variant["correct"].input_scaling, by_variant["correct"].bn_mode) == ("raw", "inference")
    assert by_variant["divided-by-255"].input_scaling == "unit" and by_variant["bn-train"].bn_mode == "train"
    assert by_variant["correct"].mistakes() == [] and len(by_variant["both-mistakes"].mistakes()) == 2
    assert (by_variant["correct"].frozen_features, by_variant["live-features"].frozen_features) == ("cached", "live")
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
    # the notebooks ran float32 (issue #24): every variant pinned, not "auto" (float16 on a GPU)
    assert {config.precision for config in variants.values()} == {"float32"}
    v2 = variants["notebook-v2"]
    assert (v2.dropout, v2.finetune_lr, v2.finetune_epochs, v2.head_epochs) == (0.4, 1e-6, 15, 0)
    assert (v2.finetune_patience, v2.keep, v2.finetune_from) == (2, "last", "")
    lr = load_spec("finetune-lr").cells()
    assert {(c.config.finetune_lr, c.config.unfreeze_blocks) for c in lr} == {
        (lr_, u) for lr_ in (1e-5, 1e-4, 1e-3) for u in (0, 3)}
    quick = {c.key["train_size"]: c.config for c in load_spec("data-efficiency", {"preset": "quick"}).cells()}
    # few-shot points as BiT: 1, 5 and 10 training images per class, validation from the full set, even at
    # quick size (the quick preset's own subset carves validation from itself)
    assert [(quick[k].train_per_class, quick[k].train_fraction) for k in ("1/class", "5/class", "10/class")] == [
        (1, 1.0), (5, 1.0), (10, 1.0)]
    assert quick[0.01].train_fraction == 0.01 and quick[0.01].train_per_class is None  # replaces per-class
    assert {c.val_from for c in quick.values()} == {"full"}
    assert 128 in load_spec("resolution").axes["image_size"]


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
    code = "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    out = subprocess.run([sys.executable, "-c", code, "study", str(spec), "--runs-dir", str(tmp_path / "runs")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "not valid TOML" in out.stderr
    assert not (tmp_path / "runs").exists()


def test_statistics_match_a_hand_computation():
    accs = {("a", 0): (0.50, 0.80), ("a", 1): (0.54, 0.83), ("a", 2): (0.49, 0.86), ("b", 0): (0.6, 0.7)}
    results = [CellResult(i, {"size": size, "seed": seed}, "", f"r{i}", "finished",
                          {"scratch": s, "finetune": f})
               for i, ((size, seed), (s, f)) in enumerate(accs.items())]
    # a run that failed because finetune diverged: its scratch result counts, finetune is "diverged"
    results.append(CellResult(9, {"size": "b", "seed": 1}, "", "r9", "failed", {"scratch": 0.1}, diverged=["finetune"]))
    a, b = aggregate(results)
    scratch = [0.50, 0.54, 0.49]
    assert a.per_strategy["scratch"].mean == pytest.approx(statistics.fmean(scratch))
    assert a.per_strategy["scratch"].std == pytest.approx(statistics.stdev(scratch))
    assert a.per_strategy["scratch"].n == 3
    (diff,) = a.differences
    per_seed = [0.80 - 0.50, 0.83 - 0.54, 0.86 - 0.49]
    assert diff.mean == pytest.approx(statistics.fmean(per_seed))
    assert diff.se == pytest.approx(statistics.stdev(per_seed) / 3 ** 0.5)
    assert diff.df == 2 and diff.t == pytest.approx(diff.mean / diff.se)
    assert diff.verdict == "significant at 95%"
    assert b.per_strategy["scratch"].n == 2 and b.per_strategy["scratch"].mean == pytest.approx(0.35)
    assert (b.per_strategy["finetune"].n, b.per_strategy["finetune"].diverged) == (1, 1)
    assert "diverged in 1 of 2 seeds" in b.per_strategy["finetune"].text()
    (only,) = b.differences  # seed 1 is left out of the pairing (finetune diverged there), and says so
    assert only.n == 1 and only.excluded == 1 and only.verdict.startswith("n<2")
    assert "1 diverged seed(s) left out" in only.text()


def per_seed_points(points):
    """Two strategies whose per-seed differences are `points` percentage points."""
    return aggregate([CellResult(i, {"seed": i}, "", "", "finished", {"scratch": 0.5, "finetune": 0.5 + p / 100})
                      for i, p in enumerate(points)])[0].differences[0]


def test_paired_t_test_at_three_seeds_by_hand():
    # +1, +2, +3 points: mean 2, sd 1, SE 1/sqrt(3) = 0.577, t = 2 / 0.577 = 3.46 on 2 df; the two-sided 95%
    # critical value of t(2) is 4.303, so the interval is 2 +- 4.303 * 0.577 = [-0.48, +4.48]: not
    # significant (the old |mean| > 2 SE rule called it "exceeds seed spread": 2 > 1.15).
    d = per_seed_points([1, 2, 3])
    assert (d.n, d.df) == (3, 2) and d.t == pytest.approx(3.464, abs=1e-3)
    assert 100 * d.ci[0] == pytest.approx(-0.484, abs=1e-3) and 100 * d.ci[1] == pytest.approx(4.484, abs=1e-3)
    assert d.p == pytest.approx(0.0742, abs=1e-4) and d.verdict == "not significant at 95%"
    assert "t=3.46" in d.text() and "df=2" in d.text() and "3 seeds" in d.text()
    assert "paired t over seeds only, the test sample not covered" in d.text()  # no test-set size: said so
    # +1.0, +1.2, +0.9: mean 1.033, sd 0.153, SE 0.088, t = 11.72 > 4.303: significant
    d = per_seed_points([1.0, 1.2, 0.9])
    assert d.t == pytest.approx(11.72, abs=0.01) and d.verdict == "significant at 95%"
    assert 100 * d.ci[0] == pytest.approx(1.0333 - 4.3027 * 0.08819, abs=1e-3)
    # n < 2: no spread, no test; identical differences: no spread either (t would be x/0)
    assert per_seed_points([5]).verdict == "n<2 and the test set's size unknown: no test"
    assert per_seed_points([2, 2, 2]).verdict.startswith("same difference in every seed")
    noisy = per_seed_points([10, -10, 1])
    assert noisy.verdict == "not significant at 95%"


def test_every_condition_is_compared_with_the_reference_per_strategy_paired_by_seed():
    spec = parse_spec({**TINY, "reference": "0.4", "base": {**TINY["base"], "strategies": ["scratch", "finetune"]},
                       "axes": {"train_fraction": [0.2, 0.4], "unfreeze": ["all", "top3"], "seed": [0, 1, 2]}})
    assert spec.reference == 0.4
    values = {}  # (fraction, unfreeze, seed) -> (scratch, finetune); finetune diverges once at 0.2/top3
    results = []
    for cell in spec.cells():
        k = cell.key
        scratch = 0.5 + 0.1 * (k["train_fraction"] == 0.4) + 0.01 * k["seed"] ** 2
        finetune = 0.7 - 0.02 * (k["train_fraction"] == 0.2) + 0.003 * k["seed"]
        values[tuple(k.values())] = (scratch, finetune)
        bad = (k["train_fraction"], k["unfreeze"], k["seed"]) == (0.2, "top3", 2)
        results.append(CellResult(cell.index, k, cell.label, f"r{cell.index}", "failed" if bad else "finished",
                                  {"scratch": scratch} | ({} if bad else {"finetune": finetune}),
                                  diverged=["finetune"] if bad else []))
    comparisons = compare_with_reference(aggregate(results), "train_fraction", spec.reference)
    assert [(c.strategy, c.label, c.reference) for c in comparisons] == [
        ("scratch", "train_fraction=0.2 unfreeze=all", "train_fraction=0.4 unfreeze=all"),
        ("scratch", "train_fraction=0.2 unfreeze=top3", "train_fraction=0.4 unfreeze=top3"),
        ("finetune", "train_fraction=0.2 unfreeze=all", "train_fraction=0.4 unfreeze=all"),
        ("finetune", "train_fraction=0.2 unfreeze=top3", "train_fraction=0.4 unfreeze=top3")]
    scratch_all = comparisons[0].difference
    assert scratch_all.per_seed == pytest.approx({s: -0.1 for s in range(3)})  # paired: the seed effect cancels
    assert scratch_all.verdict.startswith("same difference")
    finetune_top3 = comparisons[3]
    assert finetune_top3.difference.n == 2 and finetune_top3.difference.excluded == 1
    assert finetune_top3.summary.diverged_text() == "diverged in 1 of 3 seeds"
    assert comparisons[2].difference.mean == pytest.approx(-0.02)
    with pytest.raises(ConfigError, match="reference = '0.3' is not one of train_fraction's values"):
        parse_spec({**TINY, "reference": "0.3"})
    with pytest.raises(ConfigError, match="x axis other than seed"):
        parse_spec({**TINY, "x": "seed", "reference": 0})


def test_shipped_studies_name_their_reference():
    refs = {name: load_spec(name).reference for name in shipped_studies()}
    # domains: none; its question is within each data set (transfer - scratch), ordered by distance from
    # ImageNet (engine/study/domains.py): one data set's accuracy is never compared with another's
    assert refs == {"data-efficiency": 1.0, "data-efficiency-cpu": "100/class", "domains": None, "finetune-lr": 1e-5,
                    "preprocessing-ablation": "correct", "resolution": 224, "seed-replication": "corrected"}


def record_run(runs, run_id, strategies):
    """A recorded run: strategies maps name -> test accuracy, or an error text for a failed strategy."""
    from events_factory import run_started, strategy_events

    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.store.recorder import RunRecorder

    recorder = RunRecorder(runs, run_id)
    recorder(run_started(run_id, strategies=tuple(strategies)))
    for name, outcome in strategies.items():
        if isinstance(outcome, str):
            recorder(ev.StrategyFailed(strategy=name, error=outcome))
        else:
            for e in strategy_events(name, test_acc=outcome):
                recorder(e)
    failed = any(isinstance(o, str) for o in strategies.values())
    recorder(ev.RunFinished(status="failed" if failed else "finished", seconds=1.0))
    recorder.close()


def test_a_diverged_cell_is_kept_unless_retried_and_an_error_is_retried(tmp_path):
    from cifar_tui.engine.study.runner import decide

    nan = "loss became NaN at epoch 2, step 5 of the finetune phase (learning rate 0.001): try a smaller one"
    record_run(tmp_path, "20270101-000000-a-00000001", {"scratch": 0.6, "finetune": nan})
    record_run(tmp_path, "20270101-000000-b-00000002", {"scratch": 0.6, "finetune": "OSError: disk on fire"})
    assert decide(tmp_path, "20270101-000000-a-00000001") == ("skipped", None)
    assert decide(tmp_path, "20270101-000000-a-00000001", retry_failed=True) == ("new", None)
    assert decide(tmp_path, "20270101-000000-b-00000002") == ("new", None)  # an error is not a result


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

    from cifar_tui.engine.study.stats import cell_results

    results = cell_results(record, runs)
    conditions = aggregate(results)
    for condition, fraction in zip(conditions, (0.2, 0.4), strict=True):
        values = [r.test_accuracy["scratch"] for r in results if r.key["train_fraction"] == fraction]
        assert condition.per_strategy["scratch"].mean == pytest.approx(statistics.fmean(values))
        assert condition.per_strategy["scratch"].std == pytest.approx(statistics.stdev(values))
        assert condition.per_strategy["scratch"].n == 2

    # the third cell's strategy is damaged into a divergence: a result, kept; --retry-failed runs it again
    summary_path = runs / second[2].run_id / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["status"] = "failed"
    summary["strategies"]["scratch"].update(status="failed", error="loss became NaN at epoch 1, step 2")
    summary_path.write_text(json.dumps(summary))
    kept = run_study(spec, runs, redirect_native_log=False)
    assert [o.action for o in kept] == ["skipped"] * 4 and kept[2].status == "failed"
    retried = run_study(spec, runs, redirect_native_log=False, retry_failed=True)
    assert [o.action for o in retried] == ["skipped", "skipped", "new", "skipped"]
    assert load_record(runs, "tiny").cells[2].run_ids == [second[2].run_id, retried[2].run_id]

    changed = parse_spec({**TINY, "axes": {"train_fraction": [0.3], "seed": [0]}})
    with pytest.raises(StoreError, match="another grid"):
        run_study(changed, runs)


@pytest.mark.slow
def test_parallel_study_runs_cells_in_child_processes_sharing_the_runs_folder(tmp_path):
    from cifar_tui.engine.study.parallel import run_study_parallel

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


def test_studies_show_json_export_and_dry_run_answer_the_reference_question(tmp_path):
    from test_study_app import record_study
    from typer.testing import CliRunner

    from cifar_tui.cli.main import app

    record_study(tmp_path)  # train_fraction 0.1 / 1.0 (reference) x seeds 0-2; finetune diverged once at 1.0
    runner = CliRunner()
    shown = runner.invoke(app, ["studies", "show", "demo-study", "--json", "--runs-dir", str(tmp_path)])
    data = json.loads(shown.output)
    assert data["reference"] == 1.0 and "seeds x test images" in data["method"] and "Holm" in data["method"]
    scratch, finetune = data["comparisons"]
    assert (scratch["strategy"], scratch["label"], scratch["reference"]) == (
        "scratch", "train_fraction=0.1", "train_fraction=1.0")
    assert scratch["difference"]["mean"] == pytest.approx(-0.29)
    # the scripted runs have no per-image predictions: seeds (-30, -28 points: variance 2e-4 / 2) plus the test
    # sample's bound on 40 images, (min(pa + pb, 2 - pa - pb) - (pa - pb)^2) / 40 per seed
    bounds = [(min(a + b, 2 - a - b) - (a - b) ** 2) / 40 for a, b in ((0.30, 0.60), (0.34, 0.62))]
    se = (2e-4 / 2 + statistics.fmean([b ** 0.5 for b in bounds]) ** 2) ** 0.5
    assert scratch["difference"]["method"] == "seeds + test bound"
    assert scratch["difference"]["test"]["se"] == pytest.approx(se)
    assert scratch["difference"]["p_holm"] >= scratch["difference"]["p"]
    assert finetune["reference_diverged"] == 1 and finetune["difference"]["excluded_diverged"] == 1
    reference = data["conditions"][1]["strategies"]["finetune"]
    assert (reference["n"], reference["diverged"], reference["values"]["1"]) == (1, 1, None)  # JSON null: NaN

    text = runner.invoke(app, ["studies", "show", "demo-study", "--runs-dir", str(tmp_path)]).output
    assert "Each train_fraction against the reference train_fraction=1.0" in text and "Method:" in text
    assert "90.0 (n=1); diverged in" in text and "train_fraction=1.0 (reference)" in text
    flipped = json.loads(runner.invoke(app, ["studies", "show", "demo-study", "--json", "--reference", "0.1",
                                             "--runs-dir", str(tmp_path)]).output)
    assert flipped["comparisons"][0]["difference"]["mean"] == pytest.approx(0.29)
    bad = runner.invoke(app, ["studies", "show", "demo-study", "--reference", "0.5", "--runs-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "is not one of train_fraction's values (0.1, 1.0)" in bad.output

    out = tmp_path / "report"
    assert runner.invoke(app, ["studies", "export", "demo-study", "--out", str(out),
                               "--runs-dir", str(tmp_path)]).exit_code == 0
    rows = list(csv.DictReader(open(out / "differences.csv")))
    assert rows[0]["kind"] == "vs reference" and rows[0]["method"] == "seeds + test bound"
    assert float(rows[0]["p_holm"]) >= float(rows[0]["p"]) and rows[0]["test_images"] == "40"
    assert {r["kind"] for r in rows} == {"vs reference", "strategies"}
    page = (out / "report.md").read_text()
    assert "significant at 95%" in page and "Holm" in page and "| train_fraction=1.0 (reference) |" in page

    from test_study_app import SPEC

    spec_file = tmp_path / "demo.toml"  # the same grid as the recorded study, as a file
    spec_file.write_text('name = "demo-study"\ntitle = "demo"\nx = "train_fraction"\nreference = "1.0"\n'
                         '[base]\npreset = "custom"\ndataset = "digits"\nstrategies = ["scratch", "finetune"]\n'
                         '[axes]\ntrain_fraction = [0.1, 1.0]\nseed = [0, 1, 2]\n')
    assert parse_spec(SPEC).fingerprint() == load_spec(str(spec_file)).fingerprint()
    for flags, todo in (([], "keep (a strategy diverged; --retry-failed runs it again)"), (["--retry-failed"], "run")):
        plan = runner.invoke(app, ["study", str(spec_file), "--dry-run", *flags, "--runs-dir", str(tmp_path)]).output
        assert f"cell 5/6 train_fraction=1.0 seed=1: {todo}\n" in plan
        assert "cell 6/6 train_fraction=1.0 seed=2: run" in plan
