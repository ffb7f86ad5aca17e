"""The distance from ImageNet: the KL of a data set's per-layer feature statistics from the BatchNorm moving
statistics. On a small network whose BatchNorm statistics are set from natural-looking colour images (as
ImageNet's were set from ImageNet), more such images are near and digits are far."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_tui.engine.analysis.domain_distance import distance, gaussian_kl, layer_statistics, measure, statistics_model


def test_gaussian_kl_closed_form():
    zero, one = np.zeros(1), np.ones(1)
    assert gaussian_kl(zero, one, zero, one) == pytest.approx([0.0])
    assert gaussian_kl(one, one, zero, one) == pytest.approx([0.5])  # a mean one standard deviation off
    assert gaussian_kl(zero, 4 * one, zero, one) == pytest.approx([0.5 * (np.log(0.25) + 4 - 1)])


def natural(n: int, seed: int) -> np.ndarray:
    """Smooth colour fields with texture: low-frequency noise upsampled, per-image colour cast, in [0, 255]."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0, 1, (n, 4, 4, 3)).repeat(4, 1).repeat(4, 2)
    cast = rng.uniform(60, 190, (n, 1, 1, 3))
    return np.clip(cast + 40 * coarse + rng.normal(0, 8, (n, 16, 16, 3)), 0, 255).astype("float32")


def digits(n: int, seed: int) -> np.ndarray:
    """White strokes on black, gray (R = G = B)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 16, 16, 3), "float32")
    for i in range(n):
        r, c = rng.integers(3, 10, 2)
        out[i, r:r + 4, c] = out[i, r, c:c + 4] = 255
    return out


def small_network():
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for width in (6, 8):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    return keras.Model(inputs, x)


def set_statistics_from(network, images: np.ndarray) -> None:
    """AdaBN, layer by layer: each BatchNorm's moving statistics become those of its input on `images`."""
    model, norms = statistics_model(network)
    for index, layer in enumerate(norms):
        mean, var = layer_statistics(model, images)[index]  # earlier layers already set: their outputs final
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign(var.astype("float32"))


def test_natural_images_are_near_and_digits_far_on_a_network_set_from_natural_images():
    network = small_network()
    set_statistics_from(network, natural(256, seed=1))
    same, per_layer, names = distance(network, natural(128, seed=2))
    far, _, _ = distance(network, digits(128, seed=3))
    assert len(per_layer) == len(names) == 2
    assert same < 0.1 and far > 10 * same, (same, far)


def test_statistics_match_numpy_on_the_first_layer():
    network = small_network()
    images = natural(40, seed=4)
    model, norms = statistics_model(network)
    mean, var = layer_statistics(model, images)[0]
    import keras

    conv = keras.Model(network.input, norms[0].input)(images).numpy().astype(np.float64)
    np.testing.assert_allclose(mean, conv.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(var, conv.var(axis=(0, 1, 2)), rtol=1e-3, atol=1e-6)


def test_random_init_or_no_backbone_is_recorded_as_not_measured():
    from cifar_tui.engine.models.backbone import resolve_weights

    images = np.zeros((4, 32, 32, 3), np.uint8)
    random_init = measure(images, 32, resolve_weights("none"))
    assert random_init["value"] is None and "meaningless" in random_init["why"]
    assert "random-init" in random_init["why"] and random_init["definition"].startswith("mean over")
    assert measure(images, 32, None)["why"] == "not measured: no strategy of this run uses the pretrained backbone"
