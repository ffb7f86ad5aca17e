"""The verdict (issue #25, section 1): what a run or a study found, with the statistic behind each sentence
and the caveats that limit it; shown first by `runs show`, `studies show`, the reports and the headless end."""

from __future__ import annotations

import json

import numpy as np
from events_factory import run_started, strategy_events

from cifar_tui.engine.analysis.predictions import prediction_arrays
from cifar_tui.engine.run import events as ev
from cifar_tui.engine.store.recorder import RunRecorder
from cifar_tui.engine.verdict.run import run_verdict

N = 400  # test images of the recorded runs


def predictions(strategy: str, correct: np.ndarray) -> ev.TestPredictions:
    """Per-image predictions right exactly where `correct` says."""
    labels = np.arange(len(correct)) % 10
    predicted = np.where(correct, labels, (labels + 1) % 10)
    probabilities = np.full((len(correct), 10), 0.02, np.float32)
    probabilities[np.arange(len(correct)), predicted] = 0.82
    images = np.zeros((len(correct), 8, 8, 3), np.uint8)
    arrays = prediction_arrays(probabilities, labels, images)
    return ev.TestPredictions(strategy=strategy, count=len(correct), stored_images=len(arrays["image_index"]),
                              arrays=arrays)


def record_run(runs_dir, run_id: str, correct: dict[str, np.ndarray], dataset: dict | None = None,
               weights: dict | None = None, notices: list[str] = ()):
    started = run_started(run_id, strategies=tuple(correct), notices=list(notices))
    started.dataset = {**started.dataset, "test": N, **(dataset or {})}
    started.weights = weights or started.weights
    recorder = RunRecorder(runs_dir, run_id)
    recorder(started)
    for name, right in correct.items():
        for e in strategy_events(name, test_acc=float(right.mean())):
            recorder(e)
            if isinstance(e, ev.Evaluated):
                recorder(predictions(name, right))
    recorder(ev.RunFinished(status="finished", seconds=10.0))
    recorder.close()
    return runs_dir / run_id


def shares(*accuracies: float, seed: int = 0) -> list[np.ndarray]:
    """Nested correctness arrays: each later, less accurate one is right on a subset of the earlier's images."""
    order = np.random.default_rng(seed).permutation(N)
    out = []
    for accuracy in accuracies:
        right = np.zeros(N, bool)
        right[order[: round(accuracy * N)]] = True
        out.append(right)
    return out


RANDOM_INIT = {"requested": "imagenet", "label": "random init (NO pretrained weights)", "pretrained": False,
               "notice": "RANDOM INIT USED INSTEAD OF IMAGENET WEIGHTS: not in the cache"}
DIGITS = {"name": "digits", "substituted_for": "cifar10"}


def test_the_offline_make_run_verdict_says_no_conclusion_about_transfer(tmp_path):
    # the offline `make run`: digits instead of CIFAR-10, random init instead of ImageNet; scratch ~96%,
    # frozen ~22%, finetune ~25%: a newcomer must not read "transfer learning is terrible"
    scratch, finetune = shares(0.964, 0.253)
    (frozen,) = shares(0.225, seed=1)  # right on other images than finetune: they disagree on ~35% of them
    folder = record_run(tmp_path, "20270115-080000-offline-0001", {"scratch": scratch, "frozen": frozen,
                                                                   "finetune": finetune},
                        dataset=DIGITS, weights=RANDOM_INIT,
                        notices=["DIGITS USED INSTEAD OF CIFAR-10: offline", RANDOM_INIT["notice"]])
    from cifar_tui.engine.store.reader import load_run

    verdict = run_verdict(load_run(tmp_path, "latest").state.summary(), folder)
    first = verdict.sentences[0]
    assert first.text.startswith("No conclusion about transfer learning: the transfer strategies started from "
                                 "random weights") and "rerun with weights" in first.text
    assert verdict.sentences[1].text.startswith("scratch came first: scratch 96.5")
    beaten = next(s for s in verdict.sentences if s.text.startswith("scratch beat finetune"))
    assert beaten.caveats == ["random-init backbone: not transfer"]
    assert beaten.statistic.startswith("McNemar exact: 0 images only finetune got right, 285 only scratch")
    close = next(s for s in verdict.sentences if "finetune and frozen differ by 2.8 points" in s.text)
    assert "cannot tell them apart" in close.text
    caveats = " ".join(verdict.caveats)
    assert "Random init: ImageNet weights could not be loaded" in caveats and "not ImageNet transfer" in caveats
    assert "digits, not CIFAR-10: CIFAR-10 could not be loaded" in caveats
    assert verdict.caveats[-1].startswith("One seed: training noise is not measured")
    assert not any("transfer learning" in s.text and "No conclusion" not in s.text for s in verdict.sentences)


def test_a_pretrained_run_ranks_and_tells_apart_only_what_mcnemar_supports(tmp_path):
    finetune, frozen, scratch = shares(0.90, 0.89, 0.70)
    folder = record_run(tmp_path, "20270115-080000-weights-0001",
                        {"scratch": scratch, "frozen": frozen, "finetune": finetune})
    from cifar_tui.engine.store.reader import load_run

    verdict = run_verdict(load_run(tmp_path, "latest").state.summary(), folder)
    assert verdict.sentences[0].text.startswith("finetune came first: finetune 90.0 ± 1.5%, frozen 89.0")
    texts = [s.text for s in verdict.sentences]
    assert "finetune beat scratch by 20.0 points, a difference this test set tells apart" in texts
    # 4 images only finetune got right, none only frozen: McNemar p = 2 * 0.5^4 = 0.125, not told apart
    assert "finetune and frozen differ by 1.0 points: this test set cannot tell them apart" in texts
    pair = next(s for s in verdict.sentences if s.text.startswith("finetune and frozen"))
    assert "p=0.125" in pair.statistic and "Holm p=" in pair.statistic
    assert not any("Random init" in c for c in verdict.caveats)


def test_a_strategy_at_chance_and_a_deliberate_mistake_are_said(tmp_path):
    scratch, frozen = shares(0.9, 0.11)
    folder = record_run(tmp_path, "20270115-080000-chance-0001", {"scratch": scratch, "frozen": frozen},
                        notices=["DELIBERATE MISTAKE: input divided by 255 before EfficientNet (frozen)"])
    from cifar_tui.engine.store.reader import load_run

    verdict = run_verdict(load_run(tmp_path, "latest").state.summary(), folder)
    chance = next(s for s in verdict.sentences if "at chance level" in s.text)
    assert chance.text.startswith("frozen is at chance level: 11.0% where guessing among 10 classes gives 10%")
    assert chance.statistic.startswith("binomial test against 10%")
    assert not any(s.text.startswith("scratch is at chance") for s in verdict.sentences)
    assert ("Deliberate mistake: input divided by 255 before EfficientNet (frozen): this measures a broken "
            "pipeline on purpose") in verdict.caveats


def test_runs_show_and_the_report_start_with_the_verdict_and_json_carries_it(tmp_path):
    from typer.testing import CliRunner

    from cifar_tui.cli.main import app

    scratch, frozen = shares(0.9, 0.5)
    record_run(tmp_path, "20270115-080000-shown-0001", {"scratch": scratch, "frozen": frozen})
    runner = CliRunner()
    shown = runner.invoke(app, ["runs", "show", "latest", "--runs-dir", str(tmp_path)], env={"COLUMNS": "80"})
    assert shown.exit_code == 0 and shown.output.startswith("Verdict (run 20270115-080000-shown-0001)\n")
    output = shown.output
    assert output.index("scratch beat frozen by 40.0 points") < output.index("run 20270115-080000-shown-0001: finished")
    data = json.loads(runner.invoke(app, ["runs", "show", "latest", "--json", "--runs-dir", str(tmp_path)]).output)
    assert data["verdict"]["sentences"][0]["text"].startswith("scratch came first")
    assert data["verdict"]["sentences"][1]["statistic"].startswith("McNemar exact")
    out = tmp_path.parent / f"{tmp_path.name}-report"  # not in the runs folder: it would be listed as a run
    assert runner.invoke(app, ["runs", "export", "latest", "--out", str(out), "--runs-dir", str(tmp_path)]
                         ).exit_code == 0
    page = (out / "report.md").read_text()
    assert page.index("## Verdict") < page.index("- **run**:") and "McNemar exact" in page
    assert runner.invoke(app, ["runs", "export", "latest", "--out", str(out), "--format", "html",
                               "--runs-dir", str(tmp_path)]).exit_code == 0
    html = (out / "report.html").read_text()
    assert html.index("<h2>Verdict</h2>") < html.index("<table")


def test_the_headless_end_prints_the_verdict_last(tmp_path, capsys):
    from cifar_tui.cli.headless import print_outcome
    from cifar_tui.engine.run.session import RunOutcome
    from cifar_tui.engine.store.reader import load_run

    scratch, frozen = shares(0.9, 0.5)
    folder = record_run(tmp_path, "20270115-080000-end-0001", {"scratch": scratch, "frozen": frozen})
    summary = load_run(tmp_path, "latest").state.summary()
    print_outcome(RunOutcome("20270115-080000-end-0001", folder, summary), json_out=False)
    out = capsys.readouterr().out
    assert out.index("recorded in ") < out.index("Verdict (run 20270115-080000-end-0001)")
    assert "scratch beat frozen by 40.0 points" in out
    assert [line for line in out.splitlines() if line.strip()][-3].startswith("! One seed")  # wraps to 3 lines
    print_outcome(RunOutcome("20270115-080000-end-0001", folder, summary), json_out=True)  # table on stderr
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"]["sentences"][0]["text"].startswith("scratch came first")


def pair_for(points: float, n: int, condition: int) -> tuple[np.ndarray, np.ndarray]:
    """(finetune, scratch) correctness on `n` images, finetune ahead by `points`; the two also swap 60 images
    each way (the same ones in every seed of a condition), so they disagree beyond their difference."""
    scratch = np.random.default_rng(condition).random(n) < 0.6
    wrong, right = np.flatnonzero(~scratch), np.flatnonzero(scratch)
    finetune = scratch.copy()
    finetune[wrong[: round(points * n / 100) + 60]] = True
    finetune[right[:60]] = False
    return finetune, scratch


def study_results(points: dict, n: int = 2000) -> list:
    """CellResults of a data-efficiency-like grid: per train_size, finetune - scratch = `points` per seed,
    per-image results on the same `n` images in every cell."""
    from cifar_tui.engine.store.correctness import PerImageResults
    from cifar_tui.engine.study.stats import CellResult

    labels = np.zeros(n, np.int64)
    out = []
    for index, (size, per_seed) in enumerate(points.items()):
        for seed, p in enumerate(per_seed):
            finetune, scratch = pair_for(p, n, index)
            sample = PerImageResults(("cifar10", n, None, None), labels, {"finetune": finetune, "scratch": scratch})
            out.append(CellResult(len(out), {"train_size": size, "seed": seed}, "", f"r{len(out)}", "finished",
                                  {"finetune": float(finetune.mean()), "scratch": float(scratch.mean())},
                                  sample=sample, test_images=n, dataset="cifar10", weights="ImageNet (file)"))
    return out


def study(name: str, source: str = "", reference=1.0):
    from cifar_tui.engine.study.record import StudyRecord

    return StudyRecord(name, name, "train_size", "f", source, {"train_size": ["1/class", 0.1, 1.0],
                                                              "seed": [0, 1, 2]}, [], reference=reference)


def test_the_data_efficiency_verdict_says_where_transfers_advantage_stops_being_significant():
    from cifar_tui.engine.study.stats import aggregate
    from cifar_tui.engine.verdict.study import study_verdict

    results = study_results({"1/class": [30.0, 31.0, 29.0], 0.1: [5.0, 5.5, 4.5], 1.0: [0.30, 0.35, 0.32]})
    verdict = study_verdict(study("data-efficiency"), results, aggregate(results))
    assert verdict.question == "When does transfer beat training from scratch, by training-set size?"
    answer = verdict.sentences[0]
    assert answer.text == ("finetune's advantage over scratch, in points: 1/class +30.0 (significant), 0.1 +5.0 "
                           "(significant), 1.0 +0.3 (not significant); significant up to 0.1; from 1.0 on, seeds "
                           "and test set cannot tell them apart")
    assert answer.statistic.endswith("; seeds x test images")
    assert "Holm-adjusted p: <0.001, <0.001, " in answer.statistic
    assert not any(c.startswith("Random init") for c in verdict.caveats)
    assert any("corrected together (Holm)" in c for c in verdict.caveats)


def test_a_study_plugs_in_its_own_answer_by_name_or_spec_file_and_others_get_the_generic_one():
    from cifar_tui.engine.study.stats import aggregate
    from cifar_tui.engine.verdict.model import Sentence
    from cifar_tui.engine.verdict.questions import ANSWERS, answers
    from cifar_tui.engine.verdict.study import study_verdict

    results = study_results({"1/class": [10.0, 11.0, 9.0], 1.0: [0.1, 0.2, 0.0]})
    conditions = aggregate(results)

    @answers("domains-demo", "Does transfer's advantage depend on the domain?")
    def domains(ctx):
        return [Sentence(f"{len(ctx.conditions)} domains", "none")]

    try:
        assert study_verdict(study("domains-demo"), results, conditions).sentences[0].text == "2 domains"
        renamed = study_verdict(study("my-run", source="domains-demo.toml"), results, conditions)
        assert renamed.question == "Does transfer's advantage depend on the domain?"
    finally:
        del ANSWERS["domains-demo"]
    generic = study_verdict(study("unknown"), results, conditions)
    assert generic.question == "Which conditions and strategies differ?"
    assert generic.sentences[0].text.startswith("finetune against train_size=1.0, in points: 1/class")


def test_a_random_init_study_says_no_conclusion_first_and_one_seed_studies_need_seeds():
    from cifar_tui.engine.study.stats import aggregate
    from cifar_tui.engine.verdict.study import study_verdict

    results = [r for r in study_results({"1/class": [10.0], 1.0: [1.0]})]
    for r in results:
        r.weights, r.dataset = "random init (NO pretrained weights)", "digits"
    verdict = study_verdict(study("data-efficiency"), results, aggregate(results))
    assert verdict.sentences[0].text.startswith("No conclusion about transfer learning")
    assert "(1 seed, told apart)" in verdict.sentences[1].text  # never "significant" with one seed
    caveats = " ".join(verdict.caveats)
    assert "Random init: finetune started from random weights" in caveats
    assert "digits, not CIFAR-10: the numbers are about scikit-learn's 8x8 handwritten digits" in caveats
    assert "One seed" in caveats


def test_studies_show_starts_with_the_verdict_and_json_carries_it(tmp_path):
    from test_study_app import record_study
    from typer.testing import CliRunner

    from cifar_tui.cli.main import app

    record_study(tmp_path)
    runner = CliRunner()
    text = runner.invoke(app, ["studies", "show", "demo-study", "--runs-dir", str(tmp_path)]).output
    assert text.startswith("Verdict (study demo-study): Which conditions and strategies differ?")
    assert text.index("scratch against train_fraction=1.0") < text.index("study demo-study: demo (4/6")
    data = json.loads(runner.invoke(app, ["studies", "show", "demo-study", "--json", "--runs-dir", str(tmp_path)]
                                    ).output)
    assert data["verdict"]["sentences"][0]["statistic"].startswith("Holm-adjusted p:")
    assert "4 of 6 cells finished: the verdict covers the results so far" in data["verdict"]["caveats"]
    out = tmp_path.parent / f"{tmp_path.name}-study-report"
    assert runner.invoke(app, ["studies", "export", "demo-study", "--out", str(out), "--runs-dir", str(tmp_path)]
                         ).exit_code == 0
    page = (out / "report.md").read_text()
    assert page.index("## Verdict") < page.index("## Test accuracy") and "*Which conditions" in page


def test_a_damaged_or_foreign_predictions_file_falls_back_to_the_bound_never_a_crash(tmp_path):
    from cifar_tui.engine.store.correctness import read_test_sample
    from cifar_tui.engine.store.predictions import predictions_path
    from cifar_tui.engine.store.reader import load_run

    scratch, frozen, finetune = shares(0.9, 0.6, 0.95)
    folder = record_run(tmp_path, "20270115-080000-damaged-0001", {"scratch": scratch, "frozen": frozen,
                                                                   "finetune": finetune})
    predictions_path(folder, "frozen").write_bytes(b"not a zip file")
    summary = load_run(tmp_path, "latest").state.summary()
    summary["strategies"]["finetune"]["test_accuracy"] = 0.5  # its predictions say 95%: another model's
    sample = read_test_sample(folder, {"scratch": 0.9, "frozen": 0.6, "finetune": 0.5}, summary)
    assert sorted(sample.correct) == ["scratch"]
    verdict = run_verdict(summary, folder)
    pair = next(s for s in verdict.sentences if s.text.startswith("scratch beat frozen"))
    assert pair.statistic.startswith("no usable per-image predictions: z on the largest possible")


def test_random_init_is_said_only_of_transfer_strategies_that_started():
    """A reviewer's run, cancelled during scratch, read "frozen and finetune started from random weights"."""
    from cifar_tui.engine.verdict.run import run_caveats

    def summary(frozen: str, finetune: str) -> dict:
        return {"config": {"strategies": ["scratch", "frozen", "finetune"]}, "status": "cancelled",
                "strategies": {"scratch": {"status": "finished"}, "frozen": {"status": frozen},
                               "finetune": {"status": finetune}},
                "weights": {"label": "random init (NO pretrained weights)", "pretrained": False},
                "dataset": {"name": "digits"}}

    assert not any("Random init" in c for c in run_caveats(summary("pending", "pending")))
    (said,) = [c for c in run_caveats(summary("cancelled", "pending")) if "Random init" in c]
    assert said.startswith("Random init: frozen started from random weights")
