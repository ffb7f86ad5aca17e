"""Study statistics that account for the test sample (issue #24, section 6): McNemar for one seed, seeds x
test images for several, a conservative bound without per-image predictions, Holm over a study's family."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_tui.engine.analysis import paired_tests as pt
from cifar_tui.engine.store.correctness import PerImageResults
from cifar_tui.engine.study.stats import CellResult, aggregate, holm_family, paired_difference


def persistent_pairs(points: list[float], n: int = 10_000, discordant: int = 800, accuracy: float = 0.85,
                     seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(a, b) correctness per seed on the same `n` images, a - b = `points` percentage points per seed, the
    two disagreeing on ~`discordant` images, the same ones in every seed (hard images stay hard) but for the
    few that make each seed's difference."""
    rng = np.random.default_rng(seed)
    b = rng.random(n) < accuracy
    pool = rng.permutation(n)[:discordant]
    out = []
    for p in points:
        want = round(p * n / 100)
        a = b.copy()
        wrong_b, right_b = pool[~b[pool]], pool[b[pool]]
        k = (discordant + want) // 2  # images only a gets right; discordant - k only b gets right
        a[wrong_b[:k]] = True
        a[right_b[: discordant - k]] = False
        extra = want - int(a.sum() - b.sum())  # rounding: move single images outside the pool
        outside = np.setdiff1d(np.arange(n), pool)
        if extra > 0:
            a[outside[~b[outside]][:extra]] = True
        elif extra < 0:
            a[outside[b[outside]][:-extra]] = False
        assert int(a.sum() - b.sum()) == want
        out.append((a, b))
    return out


def results_with_predictions(pairs, n: int = 10_000) -> list[CellResult]:
    out = []
    labels = np.zeros(n, np.int64)
    for seed, (a, b) in enumerate(pairs):
        sample = PerImageResults(("cifar10", n, None, None), labels, {"finetune": a, "scratch": b})
        out.append(CellResult(seed, {"seed": seed}, "", f"r{seed}", "finished",
                              {"finetune": float(a.mean()), "scratch": float(b.mean())}, sample=sample,
                              test_images=n))
    return out


def test_a_third_of_a_point_on_10000_images_is_not_significant():
    # The example: per-seed differences +0.30, +0.35, +0.32 points. Over seeds alone they look sure
    # (t = 21.8 on 2 df, p = 0.002); but the ~800 images the two disagree on give the difference a sampling
    # error of sqrt(0.08 / 10,000) = 0.28 points on this test set, shared by every seed.
    (diff,) = aggregate(results_with_predictions(persistent_pairs([0.30, 0.35, 0.32])))[0].differences
    assert diff.seeds_only["p"] == pytest.approx(0.0021, abs=2e-4)  # what the old verdict said: "significant"
    assert diff.method == pt.CROSSED
    assert diff.test.se == pytest.approx(0.0028, abs=0.0003) and diff.test.se_test > 10 * diff.test.se_seeds
    assert diff.p > 0.2 and diff.verdict == "not significant at 95%"
    assert "not significant at 95% (seeds x test images: 3 seeds x 10,000 test images, t=" in diff.text()


def test_three_points_on_10000_images_is_significant():
    (diff,) = aggregate(results_with_predictions(persistent_pairs([3.0, 3.2, 2.9])))[0].differences
    assert diff.method == pt.CROSSED and diff.p < 1e-6 and diff.verdict == "significant at 95%"


def test_the_crossed_variance_matches_the_two_way_anova_by_hand():
    rng = np.random.default_rng(3)
    y = (rng.random((4, 50)) < 0.6).astype(float) - (rng.random((4, 50)) < 0.5)
    s, n = y.shape
    grand = y.mean()
    ms_seed = n * sum((y[k].mean() - grand) ** 2 for k in range(s)) / (s - 1)
    ms_image = s * sum((y[:, i].mean() - grand) ** 2 for i in range(n)) / (n - 1)
    ms_res = sum((y[k, i] - y[k].mean() - y[:, i].mean() + grand) ** 2
                 for k in range(s) for i in range(n)) / ((s - 1) * (n - 1))
    parts = [max(ms_seed - ms_res, 0) / n / s, max(ms_image - ms_res, 0) / s / n, ms_res / (s * n)]
    test = pt.crossed(y)
    assert test.se ** 2 == pytest.approx(sum(parts))
    assert test.mean == pytest.approx(grand)


def test_with_no_image_variance_the_crossed_test_is_the_paired_t_over_seeds():
    # every image of a seed differs by the seed's difference: the image and residual terms vanish, and what
    # is left is the paired t over seeds, on S - 1 degrees of freedom
    from scipy import stats

    per_seed = np.array([0.1, 0.3, 0.2])
    test = pt.crossed(np.repeat(per_seed[:, None], 100, axis=1))
    assert test.df == pytest.approx(2) and test.p == pytest.approx(stats.ttest_1samp(per_seed, 0.0).pvalue)


def null_study(rng, seeds: int = 3, n: int = 1000) -> np.ndarray:
    """Per-image differences (S, n) of two classifiers that are equally good over the image population, on one
    test set: most images are right for both (85%) or wrong for both, 8% are contested, each favouring one
    side (chosen at random) in nearly every seed, as hard images stay hard from seed to seed."""
    kind, favour_a = rng.random(n), rng.random(n) < 0.5
    pa = np.where(kind < 0.85, 0.995, 0.05)
    pb = pa.copy()
    contested = kind >= 0.92
    pa[contested] = np.where(favour_a[contested], 0.97, 0.03)
    pb[contested] = 1 - pa[contested]
    return (rng.random((seeds, n)) < pa).astype(float) - (rng.random((seeds, n)) < pb)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # ttest_1samp on near-equal seeds
def test_null_differences_are_significant_about_5_percent_of_the_time_and_the_seed_t_far_more_often():
    from scipy import stats

    rng = np.random.default_rng(7)
    ours = seeds_only = 0
    trials = 300
    for _ in range(trials):
        y = null_study(rng)
        ours += pt.crossed(y).p < 0.05
        seeds_only += stats.ttest_1samp(y.mean(axis=1), 0.0).pvalue < 0.05
    assert 0.02 <= ours / trials <= 0.085
    assert seeds_only / trials > 0.25  # the test sample's error, shared by every seed, ignored: ~1 in 3


def test_mcnemar_matches_statsmodels_exact():
    from statsmodels.stats.contingency_tables import mcnemar

    rng = np.random.default_rng(1)
    a, b = rng.random(500) < 0.8, rng.random(500) < 0.75
    test = pt.mcnemar(a, b)
    table = [[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]]
    assert test.p == pytest.approx(mcnemar(table, exact=True).pvalue)
    assert test.discordant == (int(np.sum(a & ~b)), int(np.sum(~a & b)))
    assert test.mean == pytest.approx(a.mean() - b.mean())


def test_one_seed_uses_mcnemar_and_is_never_called_significant():
    (diff,) = aggregate(results_with_predictions(persistent_pairs([5.0])))[0].differences
    assert diff.method == pt.MCNEMAR and diff.p < 1e-6
    assert diff.verdict == "1 seed: the test set tells them apart; training noise not measured"
    assert not diff.significant


def test_holm_adjusts_the_family_and_decides_the_verdict():
    from statsmodels.stats.multitest import multipletests

    raw = [0.01, 0.04, 0.03, 0.005, 0.5]
    diffs = []
    for p in raw:
        d = paired_difference("a", "b", {0: 0.6, 1: 0.7}, {0: 0.5, 1: 0.55})
        d.p = p
        diffs.append(d)
    holm_family(diffs)
    # by hand: sorted 0.005 x 5 = 0.025, 0.01 x 4 = 0.04, 0.03 x 3 = 0.09, 0.04 x 2 = 0.08 -> 0.09, 0.5 x 1
    assert [d.p_holm for d in diffs] == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.5])
    assert [d.p_holm for d in diffs] == pytest.approx(list(multipletests(raw, method="holm")[1]))
    assert [d.significant for d in diffs] == [True, False, False, True, False]  # raw p 0.04 and 0.03: not
    assert "p=0.030, Holm p=0.090" in diffs[2].text()


def test_without_per_image_predictions_the_test_sample_is_bounded():
    # accuracies only (runs from before per-image predictions were recorded): the test-sampling variance of
    # each seed's difference is at most (min(pa + pb, 2 - pa - pb) - (pa - pb)^2) / n
    va, vb = {0: 0.900, 1: 0.906, 2: 0.9055}, {0: 0.895, 1: 0.900, 2: 0.900}
    results = [CellResult(s, {"seed": s}, "", "", "finished", {"finetune": va[s], "scratch": vb[s]},
                          test_images=10_000) for s in range(3)]
    (diff,) = aggregate(results)[0].differences
    bounds = [(min(va[s] + vb[s], 2 - va[s] - vb[s]) - (va[s] - vb[s]) ** 2) / 10_000 for s in range(3)]
    per_seed = [va[s] - vb[s] for s in range(3)]
    expected = np.var(per_seed, ddof=1) / 3 + np.mean(np.sqrt(bounds)) ** 2
    assert diff.method == pt.BOUNDED and diff.test.se ** 2 == pytest.approx(expected)
    assert diff.verdict == "not significant at 95%" and diff.seeds_only["p"] < 0.05
    assert "(seeds + test bound: 3 seeds x 10,000 test images, t=" in diff.text()


def test_seeds_on_different_test_subsets_are_bounded_not_crossed():
    pairs = persistent_pairs([1.0, 1.2, 0.9], n=2000, discordant=200)
    results = results_with_predictions(pairs, n=2000)
    for r in results:  # test_limit draws a subset per seed: other images in every seed
        r.sample.key = ("cifar10", 2000, 2000, r.seed)
    (diff,) = aggregate(results)[0].differences
    assert diff.method == pt.BOUNDED


def state_with_class_accuracies(per_class: dict[str, list[float]], images: int = 100):
    from cifar_tui.engine.run.state import RunState, StrategyState

    state = RunState(dataset={"class_names": [f"c{i}" for i in range(10)], "test": 10 * images})
    for name, accuracies in per_class.items():
        matrix = [[0] * 10 for _ in range(10)]
        for i, acc in enumerate(accuracies):
            matrix[i][i] = round(acc * images)
            matrix[i][(i + 1) % 10] = images - matrix[i][i]
        state.strategies[name] = StrategyState(name, status="finished", confusion_matrix=matrix)
    return state


def test_per_class_gains_carry_their_bound_and_say_which_the_test_set_tells_apart():
    from rich.console import Console

    from cifar_tui.engine.analysis.per_class import per_class
    from cifar_tui.render.analysis import per_class_table

    state = state_with_class_accuracies({"scratch": [0.5] * 10, "finetune": [0.9, 0.55] + [0.5] * 8})
    pc = per_class(state)
    # class 0: 0.9 vs 0.5 on 100 images: SE <= sqrt((min(1.4, 0.6) - 0.4^2) / 100) = 0.066: +40 is told apart;
    # class 1: +5 points, SE <= sqrt((min(1.05, 0.95) - 0.05^2) / 100) = 0.097: not
    assert pc.gain_se["finetune - scratch"][0] == pytest.approx(((0.6 - 0.16) / 100) ** 0.5)
    assert pc.told_apart("finetune - scratch", 0) and not pc.told_apart("finetune - scratch", 1)
    console = Console(width=80, record=True)
    console.print(per_class_table(state))
    text = " ".join(console.export_text().split())
    assert "+40*" in text and "+5*" not in text and "one run's gain over scratch" in text
    assert "on 100 test images per class" in text and "no per-image predictions" in text
    console = Console(width=80, record=True)  # the app during a run: the stars may change at its end
    console.print(per_class_table(state, exact_when_ended=True))
    text = " ".join(console.export_text().split())
    assert "until the run has ended, then McNemar exact per class" in text and "no per-image predictions" not in text


def test_per_class_gains_are_tested_exactly_where_the_per_image_predictions_are_on_file():
    """The bound's normal approximation overclaims on a few images per class; McNemar's exact test on the
    class's images, Holm-corrected over the classes, does not."""
    from cifar_tui.engine.analysis.per_class import PAIRED, per_class

    per_class_images, labels = 20, np.repeat(np.arange(10), 20)
    finetune = np.ones(200, bool)
    scratch = np.ones(200, bool)
    scratch[:10] = False  # class 0: 10 images only finetune got right (exact p = 2 / 2^10 = 0.002)
    scratch[20:25] = False  # class 1: 5 (p = 0.0625: not told apart, though the bound says it is)
    state = state_with_class_accuracies({"scratch": [0.5, 0.75] + [1.0] * 8, "finetune": [1.0] * 10},
                                        images=per_class_images)
    bounded = per_class(state)
    assert bounded.told_apart("finetune - scratch", 0) and bounded.told_apart("finetune - scratch", 1)
    sample = PerImageResults(("cifar10", 200, None, None), labels, {"finetune": finetune, "scratch": scratch})
    exact = per_class(state, sample)
    p = exact.gain_p["finetune - scratch"]
    assert p[0] == pytest.approx(10 * 2 * 0.5 ** 10)  # Holm over the 10 classes: the smallest p x 10
    assert p[1] == pytest.approx(9 * 2 * 0.5 ** 5)  # the next x 9
    assert p[2:] == [1.0] * 8  # no discordant image: p = 1
    assert exact.told_apart("finetune - scratch", 0) and not exact.told_apart("finetune - scratch", 1)
    assert exact.test_used() == PAIRED


def record_four_images_a_class(runs_dir):
    """A finished run, 40 test images: scratch right on 2 of each class's 4, finetune on all, with per-image
    predictions that realise both confusion matrices."""
    from events_factory import confusion, run_started, strategy_events
    from predictions_factory import probabilities_for, synthetic_images

    from cifar_tui.engine.analysis.predictions import prediction_arrays
    from cifar_tui.engine.run import events as ev
    from cifar_tui.engine.store.recorder import RunRecorder

    images, labels = synthetic_images(40)
    recorder = RunRecorder(runs_dir, "20270115-080000-demo-abcd")
    recorder(run_started(strategies=("scratch", "finetune")))
    for name, accuracy in (("scratch", 0.5), ("finetune", 1.0)):
        for event in strategy_events(name, test_acc=accuracy):
            recorder(event)
            if isinstance(event, ev.Evaluated):  # per-image predictions realising its confusion matrix
                arrays = prediction_arrays(probabilities_for(confusion(40, accuracy), labels), labels, images)
                recorder(ev.TestPredictions(strategy=name, count=40, stored_images=len(arrays["image_index"]),
                                            arrays=arrays))
    recorder(ev.RunFinished(status="finished", seconds=20.0))
    recorder.close()


async def test_the_app_stars_per_class_gains_by_the_exact_test_once_the_run_has_ended(tmp_path):
    from rich.console import Console

    from cifar_tui.app.app import CifarTuiApp
    from cifar_tui.app.widgets.analysis import AnalysisView

    record_four_images_a_class(tmp_path)
    app = CifarTuiApp(tmp_path, watch="20270115-080000-demo-abcd")
    async with app.run_test(size=(120, 40)) as pilot:
        text = ""
        for _ in range(200):
            views = app.screen.query(AnalysisView)
            if views:
                console = Console(width=100, record=True)
                console.print(views.first().content)
                text = " ".join(console.export_text().split())
                if "*: p < 0.05, McNemar" in text:  # the exact tests are in (before, the caption says they come)
                    break
            await pilot.pause(0.05)
        assert "McNemar exact per class, Holm over the classes" in text
        assert "+50" in text and "+50*" not in text
        view = app.screen.query_one(AnalysisView)
        view.show(view.state, tmp_path)  # drawn at once, tested in a worker: the caption says the test is coming
        console = Console(width=100, record=True)
        console.print(view.content)
        assert "no per-image predictions" not in " ".join(console.export_text().split())


def test_runs_show_tests_per_class_gains_on_the_recorded_predictions(tmp_path):
    """4 images a class, finetune right on all, scratch on 2: the bound's normal approximation starred every
    class (+50 > 1.96 x 0.25); McNemar's exact p is 0.5 for each, and nothing is starred."""
    from typer.testing import CliRunner

    from cifar_tui.cli.main import app

    record_four_images_a_class(tmp_path)
    out = CliRunner().invoke(app, ["runs", "show", "latest", "--runs-dir", str(tmp_path)], env={"COLUMNS": "120"})
    text = " ".join(out.output.split())
    assert "McNemar exact per class, Holm over the classes" in text
    table = text[text.index("per-class test accuracy"):text.index("one run's gain over scratch")]
    assert "+50" in table and "*" not in table
    export = tmp_path / "report"
    assert CliRunner().invoke(app, ["runs", "export", "latest", "--out", str(export), "--runs-dir",
                                    str(tmp_path)]).exit_code == 0
    import csv

    rows = list(csv.DictReader((export / "per_class.csv").open()))
    assert [float(r["finetune-scratch_mcnemar_p_holm"]) for r in rows] == [1.0] * 10  # 2 discordant: p = 0.5


def test_no_spread_on_a_handful_of_images_proves_nothing():
    # every seed and image differ alike: no variance to estimate; the exact sign test on the images decides
    def results(n: int) -> list[CellResult]:
        sample = PerImageResults(("digits", n, None, None), np.zeros(n, np.int64),
                                 {"finetune": np.ones(n, bool), "scratch": np.zeros(n, bool)})
        return [CellResult(s, {"seed": s}, "", "", "finished", {"finetune": 1.0, "scratch": 0.0}, sample=sample,
                           test_images=n) for s in range(2)]

    (one,) = aggregate(results(1))[0].differences
    assert one.p == 1.0 and one.verdict == "not significant at 95%"
    (many,) = aggregate(results(50))[0].differences
    assert many.p == pytest.approx(2 * 0.5 ** 50) and many.significant
