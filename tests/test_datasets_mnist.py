"""MNIST and Fashion-MNIST read from the IDX files as published and from Keras' mnist.npz, checked byte for
byte against their headers, padded to 32x32x3 without interpolation."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from dataset_writers import digit_images, idx_bytes, write_idx, write_npz

from cifar_tui.engine.data import catalog, sources_mnist
from cifar_tui.engine.data.idx_files import read_idx, to_rgb32
from cifar_tui.engine.errors import DataError


def _no_download():
    raise AssertionError("must not download when a local copy exists")


def _check(ds, train, test):
    assert ds.x_train.shape == (len(train[1]), 32, 32, 3) and ds.x_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.x_train[:, 2:30, 2:30, 1], train[0])  # the image, unchanged, centred
    assert not ds.x_train[:, :2].any() and not ds.x_train[:, :, 30:].any()  # zero padding
    assert (ds.x_train[..., 0] == ds.x_train[..., 2]).all()  # gray copied to R, G and B
    np.testing.assert_array_equal(ds.y_train, train[1])
    np.testing.assert_array_equal(ds.y_test, test[1])


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_gzipped_or_extracted(tmp_path, gz):
    train, test = write_idx(tmp_path / "mnist", gz=gz)
    ds = sources_mnist.load("mnist", str(tmp_path / "mnist"), fetch=_no_download)
    _check(ds, train, test)
    assert ds.name == "mnist" and ds.augmentation == "translate" and ds.class_names[3] == "3"
    assert ds.details["conversion"].startswith("28x28 grayscale zero-padded to 32x32")


def test_keras_npz(tmp_path):
    train, test = write_npz(tmp_path / "mnist.npz")
    for where in (tmp_path / "mnist.npz", tmp_path):
        _check(sources_mnist.load("mnist", str(where), fetch=_no_download), train, test)


def test_fashion_mnist_in_keras_cache_and_its_declared_augmentation(keras_home):
    train, test = write_idx(keras_home / "datasets" / "fashion-mnist")
    ds = catalog.load("fashion_mnist", None)
    _check(ds, train, test)
    assert ds.class_names[0] == "T-shirt/top" and ds.augmentation == "flip+translate"


def test_mnist_in_keras_cache_is_checked_against_the_release_and_kept(keras_home):
    cached = keras_home / "datasets" / "mnist.npz"
    write_npz(cached)
    before = cached.read_bytes()
    with pytest.raises(DataError, match="does not match Keras' release checksum of mnist.npz"):
        catalog.locate("mnist", None)
    assert cached.read_bytes() == before


def test_fashion_and_digits_are_never_mistaken_for_each_other(tmp_path):
    write_idx(tmp_path / "datasets" / "fashion-mnist")
    with pytest.raises(DataError) as info:
        catalog.locate("mnist", str(tmp_path))
    assert "holds no MNIST but Fashion-MNIST: pass --dataset fashion_mnist" in str(info.value)
    write_idx(tmp_path / "other" / "MNIST" / "raw")  # torchvision's layout
    assert sources_mnist.load("mnist", str(tmp_path / "other"), fetch=_no_download).name == "mnist"


def test_offline_fashion_download_fails_in_one_line(keras_home, monkeypatch):
    import urllib.request

    def offline(*_a, **_k):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as info:
        catalog.load("fashion_mnist", None)
    message = str(info.value)
    assert message.startswith(f"Fashion-MNIST is not in {keras_home / 'datasets'} and the download failed")
    assert "\n" not in message and "--data-dir" in message
    assert not list((keras_home / "datasets").rglob("*.gz"))  # nothing half-written


@pytest.mark.parametrize("damage, words", [
    (lambda b: b[:-10], "truncated"),
    (lambda b: b + b"\0", "longer than its header says"),
    (lambda b: b"\x00\x00\x0d\x03" + b[4:], "type 0x0d"),  # floats, not unsigned bytes
    (lambda b: b"PK\x03\x04" + b[4:], "not an IDX file"),
])
def test_damaged_idx_files_are_refused_in_one_line(tmp_path, damage, words):
    images, _ = digit_images(5, 0)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(damage(idx_bytes(images))))
    with pytest.raises(DataError) as info:
        read_idx(path, 3)
    assert words in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_gzip_cut_off_midway_and_labels_that_do_not_match(tmp_path):
    write_idx(tmp_path / "m")
    images = tmp_path / "m" / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:200])
    with pytest.raises(DataError, match="not a readable IDX file .*download it again"):
        sources_mnist.load("mnist", str(tmp_path / "m"), fetch=_no_download)
    write_idx(tmp_path / "n")
    (tmp_path / "n" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.full(50, 12, np.uint8))))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: labels must be in 0..9, found 12..12"):
        sources_mnist.load("mnist", str(tmp_path / "n"), fetch=_no_download)


def test_an_npz_with_pickled_objects_or_wrong_shapes_is_refused(tmp_path):
    bad = tmp_path / "mnist.npz"
    np.savez(bad, x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(DataError, match="x_train is object"):
        sources_mnist.load("mnist", str(bad), fetch=_no_download)
    np.savez(bad, x_train=np.zeros((3, 32, 32), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(DataError, match=r"x_train is uint8 \(3, 32, 32\); expected uint8 N x 28 x 28"):
        sources_mnist.load("mnist", str(bad), fetch=_no_download)


def test_a_partial_idx_folder_names_the_missing_files(tmp_path):
    write_idx(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="holds MNIST IDX files but is missing t10k-images-idx3-ubyte.gz"):
        catalog.locate("mnist", str(tmp_path / "mnist"))


def test_padding_is_exact():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    out = to_rgb32(images)
    assert out.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(out[:, 2:30, 2:30, 0], images)
    assert out.sum() == 3 * images.astype(np.int64).sum()
