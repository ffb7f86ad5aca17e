"""CIFAR-100 read from its genuine files (folder, archive, Keras' cache), fine and coarse labels, safely."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from dataset_writers import COARSE, FINE, cifar100_bytes, cifar100_split, pack, write_cifar100

from cifar_tui.engine.data import catalog, sources_cifar100
from cifar_tui.engine.errors import DataError


def _no_download():
    raise AssertionError("must not download when a local copy exists")


@pytest.fixture
def cifar100(tmp_path):
    folder = tmp_path / "cifar-100-python"
    train, test = write_cifar100(folder)
    archive = pack(tmp_path / "cifar-100-python.tar.gz", folder, "cifar-100-python")
    return folder, archive, train, test


def test_folder_and_archive_read_fine_and_coarse_labels(cifar100):
    folder, archive, train, test = cifar100
    for where in (folder, archive):
        fine = sources_cifar100.load(str(where), "fine", fetch=_no_download)
        coarse = sources_cifar100.load(str(where), "coarse", fetch=_no_download)
        np.testing.assert_array_equal(fine.x_train, train[0])
        np.testing.assert_array_equal(fine.y_train, train[1])
        np.testing.assert_array_equal(coarse.y_train, train[2])
        np.testing.assert_array_equal(fine.x_test, test[0])
        np.testing.assert_array_equal(coarse.y_test, test[2])
        assert fine.class_names == FINE and coarse.class_names == COARSE
        assert (fine.name, coarse.name) == ("cifar100", "cifar100_coarse")
        assert fine.augmentation == "flip+translate"


def test_the_catalog_reads_it_by_name(cifar100):
    folder, *_ = cifar100
    assert catalog.load("cifar100_coarse", str(folder.parent)).class_names == COARSE


@pytest.mark.parametrize("layout", ["datasets/cifar-100-python-target/cifar-100-python",  # Keras 3
                                    "datasets/cifar-100-python"])  # Keras 2
def test_keras_cache_layouts(keras_home, layout):
    train, _ = write_cifar100(keras_home / layout)
    ds = sources_cifar100.load(None, "fine", fetch=_no_download)
    np.testing.assert_array_equal(ds.y_train, train[1])


def test_a_cached_archive_that_is_not_the_release_is_refused_and_kept(keras_home, tmp_path):
    write_cifar100(tmp_path / "src")
    (keras_home / "datasets").mkdir()
    cached = pack(keras_home / "datasets" / "cifar-100-python-target_archive", tmp_path / "src", "cifar-100-python")
    before = cached.read_bytes()
    with pytest.raises(DataError, match="does not match Keras' release checksum of cifar-100-python.tar.gz"):
        sources_cifar100.load(None, "fine", fetch=_no_download)
    assert cached.read_bytes() == before


def test_offline_without_a_copy_fails_in_one_line_naming_the_cache(keras_home):
    def offline():
        raise Exception("<urlopen error [Errno -3] Temporary failure in name resolution>")

    with pytest.raises(DataError) as info:
        sources_cifar100.load(None, "fine", fetch=offline)
    message = str(info.value)
    assert "\n" not in message and str(keras_home / "datasets") in message
    assert "CIFAR-100 is not in" in message and "--data-dir" in message


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    data = pickle.dumps({b"data": Evil(), b"fine_labels": [0]}, protocol=2)
    with pytest.raises(DataError, match="train: refusing to load: the file asks for"):
        sources_cifar100.parse_split(data, "train", "fine")
    assert not marker.exists()


def test_labels_out_of_range_and_missing_keys_name_the_file():
    images, fine, coarse = cifar100_split(4, 0)
    with pytest.raises(DataError, match=r"test: labels must be in 0..19, found 20..21"):
        sources_cifar100.parse_split(cifar100_bytes(images, fine, fine // 2 + 20), "test", "coarse")
    with pytest.raises(DataError, match="missing 'fine_labels'"):
        from cifar_writers import batch_bytes

        sources_cifar100.parse_split(batch_bytes(images, fine % 10), "train", "fine")  # a CIFAR-10 batch


def test_a_folder_without_meta_names_what_is_missing(tmp_path):
    folder = tmp_path / "cifar-100-python"
    write_cifar100(folder)
    (folder / "meta").unlink()
    with pytest.raises(DataError, match=r"cifar-100-python holds CIFAR-100 files but is missing meta"):
        catalog.locate("cifar100", str(tmp_path))


def test_cifar100_is_not_taken_for_cifar10_and_says_so(cifar100):
    folder, archive, *_ = cifar100
    with pytest.raises(DataError) as info:
        catalog.locate("cifar10", str(folder.parent))
    assert "holds no CIFAR-10 but CIFAR-100 (100 fine classes): pass --dataset cifar100" in str(info.value)
