"""What fine-tuning changed: debiased linear CKA's properties (hypothesis), its agreement with the unbiased
HSIC of Song et al. (2012), and the per-block measures (the variables the optimiser trained only)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cifar_tui.engine.analysis.cka import biased_linear_cka, linear_cka


def activations(seed, n=64, p=20):
    return np.random.default_rng(seed).normal(size=(n, p))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(8, 80), p=st.integers(2, 40))
def test_identical_activations_give_one(seed, n, p):
    x = activations(seed, n, p)
    assert linear_cka(x, x) == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3))
def test_invariant_to_orthogonal_transforms_and_isotropic_scaling(seed, scale):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(50, 12)), rng.normal(size=(50, 7))
    y = y + x[:, :7]  # related, so the value is not trivially small
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))  # a random orthogonal matrix
    assert linear_cka(x @ q * scale, y) == pytest.approx(linear_cka(x, y), rel=1e-9)
    assert linear_cka(x, y * scale) == pytest.approx(linear_cka(x, y), rel=1e-9)


def test_independent_random_activations_give_a_low_value():
    values = [linear_cka(activations(s, n=500, p=10), activations(s + 1000, n=500, p=10)) for s in range(5)]
    assert max(values) < 0.1
    related = linear_cka(activations(1, n=500, p=10), activations(1, n=500, p=10)[:, ::-1] * 3)
    assert related == pytest.approx(1.0)  # a permutation and a scaling are still the same representation


def test_mismatched_inputs_are_refused_and_constant_is_undefined():
    with pytest.raises(ValueError):
        linear_cka(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least 4"):
        linear_cka(np.zeros((3, 2)), np.zeros((3, 2)))
    assert np.isnan(linear_cka(np.ones((5, 3)), activations(0, n=5, p=3)))


def unbiased_hsic(k, l_):
    """HSIC_1 of Song et al. 2012 (eq. 5), written out independently: K~, L~ are K, L with zero diagonals."""
    n = len(k)
    k, l_ = k.copy(), l_.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l_, 0)
    one = np.ones(n)
    return (np.trace(k @ l_) + (one @ k @ one) * (one @ l_ @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * (one @ k @ l_ @ one)) / (n * (n - 3))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 40), p=st.integers(1, 30), q=st.integers(1, 30))
def test_cka_is_the_unbiased_hsic_ratio_of_song_et_al(seed, n, p, q):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, p)), rng.normal(size=(n, q))
    k, l_ = x @ x.T, y @ y.T
    expected = unbiased_hsic(k, l_) / np.sqrt(unbiased_hsic(k, k) * unbiased_hsic(l_, l_))
    assert linear_cka(x, y) == pytest.approx(expected, rel=1e-7, abs=1e-9)


def test_few_images_and_many_features_no_longer_look_alike():
    # 64 images, 2,000 features, two unrelated representations: the plain estimator says ~0.97, the
    # debiased one ~0 (the analysis runs 256 images with up to 62,720 features per block)
    a, b = activations(1, n=64, p=2000), activations(2, n=64, p=2000)
    assert biased_linear_cka(a, b) > 0.9
    assert abs(linear_cka(a, b)) < 0.1


@pytest.fixture(scope="module")
def pretrained_finetune(tmp_path_factory):
    """A finetune model over 'pretrained' weights (a random backbone saved and loaded back: no ImageNet
    offline), its backbone unfrozen as phase 2 does, and the variables the optimiser then trains."""
    from cifar_tui.engine.analysis.backbone_change import trained_variables
    from cifar_tui.engine.config.config import ExperimentConfig
    from cifar_tui.engine.models.backbone import build_backbone, resolve_weights
    from cifar_tui.engine.models.transfer import build_finetune

    path = tmp_path_factory.mktemp("weights") / "backbone.weights.h5"
    build_backbone(32, resolve_weights("none")).save_weights(path)
    built = build_finetune(ExperimentConfig(transfer_image_size=32), 10, resolve_weights(str(path)))
    built.phases[-1].prepare()  # unfreeze: BatchNorm stays frozen over pretrained statistics
    return built, trained_variables(built.backbone)


def test_a_known_change_of_every_trained_variable_reads_the_same_in_every_block(pretrained_finetune):
    """Issue #24: frozen BatchNorm gamma/beta (and statistics) count for nothing. Scaling every variable the
    optimiser trains by 1.1 is a 10% change in every block; counting the frozen ones in read 3.9% (stem),
    5.8% (top), 8.6% (blocks)."""
    from cifar_tui.engine.analysis.backbone_change import snapshot, weight_change

    built, trained = pretrained_finetune
    names = {v.path.rsplit("/", 1)[-1] for v in built.backbone.weights if v.path in trained}
    assert "gamma" not in names and "beta" not in names and "kernel" in names  # frozen BN is not trained
    start = snapshot(built.backbone)
    try:
        for v in built.backbone.weights:
            if v.path in trained:
                v.assign(np.asarray(v) * 1.1)
        changes = weight_change(built.backbone, start, trained)
    finally:
        for v in built.backbone.weights:
            v.assign(start[v.path])
    assert set(changes) == {"stem", *[f"block{i}" for i in range(1, 8)], "top"}
    assert changes == pytest.approx({block: 0.1 for block in changes}, rel=1e-5)


def test_backbone_change_sees_exactly_the_blocks_that_moved(pretrained_finetune):
    from cifar_tui.engine.analysis.backbone_change import backbone_change, snapshot

    built, trained = pretrained_finetune
    backbone, model = built.backbone, built.model
    start = snapshot(backbone)
    images = np.random.default_rng(0).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    same = backbone_change(model, backbone, start, images, trained)
    assert same["blocks"] == ["stem", *[f"block{i}" for i in range(1, 8)], "top"]
    assert same["weight_change"] == [0.0] * 9 and same["cka"] == pytest.approx([1.0] * 9)
    rng = np.random.default_rng(1)
    try:
        for v in backbone.weights:  # perturb block 7's convolution kernels only
            if v.path.startswith("block7") and "kernel" in v.path:
                v.assign(np.asarray(v) + 0.5 * rng.normal(size=v.shape).astype("float32"))
        tuned = snapshot(backbone)
        moved = backbone_change(model, backbone, start, images, trained)
        changed = dict(zip(moved["blocks"], moved["weight_change"], strict=True))
        assert changed["block7"] > 0.1 and all(changed[b] == 0 for b in moved["blocks"][:-2])
        cka = dict(zip(moved["blocks"], moved["cka"], strict=True))
        assert cka["block6"] == pytest.approx(1.0) and cka["block7"] < 0.999  # activations change from there on
        after = snapshot(backbone)
        assert all(np.array_equal(after[k], tuned[k]) for k in tuned)  # the tuned weights are back in place
        # other weights to analyse (fine-tuning's own, when the tested model is the head-only one): measured
        # on them, and the backbone's own weights back in place after
        for v in backbone.weights:
            v.assign(start[v.path])
        again = backbone_change(model, backbone, start, images, trained, after=tuned)
        assert again["weight_change"] == moved["weight_change"] and again["cka"] == pytest.approx(moved["cka"])
        assert all(np.array_equal(np.asarray(v), start[v.path]) for v in backbone.weights)
    finally:
        for v in backbone.weights:
            v.assign(start[v.path])


def test_the_start_is_saved_once_and_read_back_on_resume_not_redrawn(tmp_path):
    from cifar_tui.engine.analysis.backbone_change import start_weights
    from cifar_tui.engine.models.backbone import WeightsChoice, build_backbone

    backbone = build_backbone(32, WeightsChoice("none", None, "random init", False))
    first, label = start_weights(backbone, tmp_path, resumed=False, label="random init", pretrained=False)
    assert label == "random init" and (tmp_path / "backbone-start.npz").is_file()
    for v in backbone.weights:  # a resumed build: another random draw
        v.assign(np.asarray(v) + 1.0)
    again, label = start_weights(backbone, tmp_path, resumed=True, label="random init", pretrained=False)
    assert label == "random init"
    assert all(np.array_equal(a, b) for a, b in zip(again.values(), first.values(), strict=True))
    redrawn, label = start_weights(backbone, tmp_path / "none", resumed=True, label="random init", pretrained=False)
    assert "not saved" in label  # an old run without the file says its reference is a re-draw
    assert not np.array_equal(next(iter(redrawn.values())), next(iter(first.values())))
