"""The `domains` study end to end on small genuine-format files of every kind: CIFAR-10 (python batches),
CIFAR-100 (the .tar.gz), Fashion-MNIST (IDX gz), MNIST (Keras' npz) and an image folder, each run recording
its data set's distance from ImageNet, and the report ordering the data sets by it."""

from __future__ import annotations

import json

import pytest
from cifar_writers import tiny_cifar
from dataset_writers import pack, write_cifar100, write_idx, write_image_folder, write_npz

from cifar_tui.engine.study.domains import domain_evidence
from cifar_tui.engine.study.record import load_record
from cifar_tui.engine.study.report import export_study, study_json
from cifar_tui.engine.study.runner import run_study
from cifar_tui.engine.study.spec import load_spec, parse_spec
from cifar_tui.engine.study.stats import aggregate, cell_results


def test_the_shipped_study_is_the_protocol_over_four_data_sets():
    cells = load_spec("domains").cells()
    assert len(cells) == 4 * 2 * 3
    datasets = [c.config.dataset for c in cells if c.key["seed"] == 0 and c.key["train_size"] == 1.0]
    assert datasets == ["cifar10", "cifar100", "fashion_mnist", "mnist"]
    for cell in cells:
        config = cell.config
        assert config.domain_distance and config.strategies == ("scratch", "frozen", "finetune")
        assert config.val_from == "full" and config.head_epochs == config.frozen_epochs  # equal budgets
        assert (config.train_per_class, config.train_fraction) in ((10, 1.0), (None, 1.0))


@pytest.fixture(scope="module")
def data_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_cifar100(root / "c100" / "src", n_train=200, n_test=100)
    pack(root / "c100" / "cifar-100-python.tar.gz", root / "c100" / "src", "cifar-100-python")
    write_idx(root / "fashion" / "fashion-mnist", n_train=60, n_test=30)
    write_npz(root / "mnist" / "mnist.npz", n_train=60, n_test=30)
    return {"cifar10": (root / "c10", tiny_cifar(root / "c10", n_train=60, n_test=30).parent),
            "cifar100": ("cifar100_coarse", root / "c100"), "fashion_mnist": ("fashion_mnist", root / "fashion"),
            "mnist": ("mnist", root / "mnist"),
            "mine": ("folder", write_image_folder(root / "pets", classes=("cat", "dog"), per_class=8))}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    from cifar_tui.engine.models.backbone import build_backbone, resolve_weights

    path = tmp_path_factory.mktemp("weights") / "backbone.weights.h5"  # random, saved: 'pretrained' to the tool
    build_backbone(32, resolve_weights("none")).save_weights(path)
    return path


@pytest.mark.slow
def test_the_study_runs_end_to_end_on_every_kind_of_file(tmp_path, data_sets, weights_file):
    """Scratch only (the transfer strategies' own tests cover them): every loader, the split, the distance
    with a weights file, the evidence and the report, through `run_study` as `cifar-tui study` calls it."""
    variants = {name: {"dataset": kind if name != "cifar10" else "cifar10", "data_dir": str(folder)}
                for name, (kind, folder) in data_sets.items()}
    spec = parse_spec({
        "name": "domains-tiny", "x": "variant",
        "base": {"preset": "custom", "strategies": ["scratch"], "domain_distance": True, "weights": str(weights_file),
                 "transfer_image_size": 32, "scratch_epochs": 1, "batch_size": 16, "run_eagerly": True,
                 "checkpoints": False},
        "axes": {"variant": list(variants), "train_size": ["2/class"], "seed": [0]},
        "variants": variants})
    runs = tmp_path / "runs"
    outcomes = run_study(spec, runs, redirect_native_log=False)
    assert [o.status for o in outcomes] == ["finished"] * 5, [o.summary for o in outcomes]

    record = load_record(runs, "domains-tiny")
    results = cell_results(record, runs)
    evidence = domain_evidence(record, results, aggregate(results), runs)
    assert evidence is not None and len(evidence.rows) == 5
    names = [row.distance.dataset for row in evidence.rows]
    assert sorted(names) == sorted(["cifar10", "cifar100_coarse", "fashion_mnist", "mnist", "folder:pets"])
    values = [row.distance.value for row in evidence.rows]
    assert all(v is not None and v >= 0 for v in values) and values == sorted(values)  # nearest first

    mine = json.loads((runs / outcomes[-1].run_id / "summary.json").read_text())["dataset"]
    assert mine["name"] == "folder:pets" and mine["train_per_class"] == {"cat": 6, "dog": 6}  # 8 minus 2 test
    assert mine["digest"].startswith("sha256:") and mine["imagenet_distance"]["layers"] == 49
    assert set(mine["imagenet_distance"]["per_block"]) == {"stem", *(f"block{i}" for i in range(1, 8)), "top"}
    assert json.loads((runs / outcomes[1].run_id / "summary.json").read_text())["dataset"]["augmentation"] == \
        "flip+translate"  # CIFAR-100's own declaration, recorded as what ran

    page = export_study(record, results, aggregate(results), tmp_path / "report", runs_dir=runs).read_text()
    assert "## Transfer against scratch, data sets nearest to ImageNet first" in page
    assert "folder:pets: distance from ImageNet" in page


def record_domains(runs_dir, distances: dict[str, float | None], gaps: dict[str, float], name: str = "dom"):
    """A recorded data-set x 3-seed study: scratch at 0.5, frozen at 0.5 + gap (+ seed noise)."""
    from events_factory import run_started, strategy_events

    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.store.recorder import RunRecorder
    from cifar_tui.engine.study.record import new_record, save_record

    spec = parse_spec({"name": name, "x": "variant", "base": {"preset": "custom", "strategies": ["scratch", "frozen"]},
                       "axes": {"variant": list(distances), "seed": [0, 1, 2]},
                       "variants": {name: {"dataset": name} for name in distances}})
    record = new_record(spec)
    for cell in record.cells:
        name, seed = cell.key["variant"], cell.key["seed"]
        run_id = f"20270121-0800{cell.index:02d}-dom-0{cell.index:02d}-0000ab{cell.index:02d}"
        started = run_started(run_id, strategies=("scratch", "frozen"))
        value = distances[name]
        started.dataset = {**started.dataset, "name": name, "imagenet_distance": {
            "value": value, "definition": "KL", **({} if value is not None else {"why": "not measured: random"})}}
        recorder = RunRecorder(runs_dir, run_id)
        for e in [started, *strategy_events("scratch", test_acc=0.5),
                  *strategy_events("frozen", test_acc=0.5 + gaps[name] + 0.01 * seed),
                  ev.RunFinished(status="finished", seconds=1.0)]:
            recorder(e)
        recorder.close()
        cell.run_ids.append(run_id)
    save_record(runs_dir, record)
    return record


def test_the_evidence_orders_data_sets_by_distance_with_their_paired_differences(tmp_path):
    record = record_domains(tmp_path, {"mnist": 3.0, "cifar10": 0.5, "cifar100": None},
                            {"mnist": -0.1, "cifar10": 0.2, "cifar100": 0.1})
    results = cell_results(record, tmp_path)
    evidence = domain_evidence(record, results, aggregate(results), tmp_path)
    assert [r.distance.dataset for r in evidence.rows] == ["cifar10", "mnist", "cifar100"]  # unmeasured last
    assert [round(r.differences[0].mean, 3) for r in evidence.rows] == [0.21, -0.09, 0.11]
    assert evidence.rows[0].differences[0].n == 3 and evidence.rows[0].differences[0].p is not None
    assert [(p[0], p[2]) for p in evidence.points("frozen")] == [("cifar10", 0.5), ("mnist", 3.0)]
    lines = evidence.lines()
    assert lines[0] == ("head", "Transfer against scratch, data sets nearest to ImageNet first")
    assert ("note", "cifar10: distance from ImageNet 0.500 nats") in lines
    assert ("note", "cifar100: distance not measured: random") in lines
    assert [row["dataset"] for row in study_json(record, results, aggregate(results), tmp_path)["domains"]] == [
        "cifar10", "mnist", "cifar100"]


def test_a_study_without_distances_has_no_evidence(tmp_path):
    from study_bands_factory import record_bands_study

    record = record_bands_study(tmp_path)
    results = cell_results(record, tmp_path)
    assert domain_evidence(record, results, aggregate(results), tmp_path) is None
    assert "domains" not in study_json(record, results, aggregate(results), tmp_path)


def domains_verdict(runs_dir, distances, gaps):
    from cifar_tui.engine.verdict.study import study_verdict

    record = record_domains(runs_dir, distances, gaps, name="domains")
    results = cell_results(record, runs_dir)
    return study_verdict(record, results, aggregate(results), runs_dir)


def test_the_verdict_lists_the_advantage_nearest_first_and_never_calls_four_data_sets_a_trend(tmp_path):
    verdict = domains_verdict(tmp_path, {"mnist": 3.0, "cifar10": 0.5, "fashion_mnist": 2.0, "cifar100": 0.8},
                              {"mnist": -0.1, "cifar10": 0.2, "fashion_mnist": 0.0, "cifar100": 0.1})
    assert verdict.question.startswith("Does transfer's advantage over scratch depend on the data's distance")
    sentence = next(s for s in verdict.sentences if s.text.startswith("frozen - scratch"))
    order = [sentence.text.index(name) for name in ("cifar10 (0.50 nats)", "cifar100 (0.80 nats)",
                                                    "fashion_mnist (2.00 nats)", "mnist (3.00 nats)")]
    assert order == sorted(order)  # nearest first
    # a perfect monotone order over 4 data sets: exact p = 2/4! = 0.083, never significant
    assert "no trend with distance can be told apart from chance with 4 data sets" in sentence.text
    assert "Spearman rho=-1.00, exact permutation p=0.083 over 4 data sets" in sentence.statistic


def test_the_verdict_names_a_trend_only_where_the_permutation_test_supports_it(tmp_path):
    names = ("cifar10", "cifar100", "cifar100_coarse", "fashion_mnist", "mnist")
    distances = dict(zip(names, (0.5, 1.0, 1.5, 2.0, 3.0), strict=True))
    verdict = domains_verdict(tmp_path, distances, dict(zip(names, (0.2, 0.15, 0.1, 0.0, -0.1), strict=True)))
    sentence = next(s for s in verdict.sentences if s.text.startswith("frozen - scratch"))
    assert sentence.text.endswith("the advantage shrinks with distance from ImageNet")
    assert "exact permutation p=0.017 over 5 data sets" in sentence.statistic  # 2/5!


def test_rank_trend_is_scipys_exact_spearman_test():
    from scipy import stats

    from cifar_tui.engine.verdict.domains import rank_trend

    x, y = [0.1, 0.4, 0.2, 0.9, 0.5, 0.7], [3.0, 1.0, 2.0, -1.0, 0.5, 0.4]
    rho, p = rank_trend(x, y)
    assert rho == pytest.approx(stats.spearmanr(x, y).statistic)
    # exact two-sided p by brute force: the share of the 720 pairings at least as extreme
    import itertools

    rhos = [stats.spearmanr(x, perm).statistic for perm in itertools.permutations(y)]
    assert p == pytest.approx(sum(abs(r) >= abs(rho) - 1e-12 for r in rhos) / len(rhos))
    assert rank_trend([1.0, 2.0], [0.1, 0.2]) is None  # two points: no trend to test
