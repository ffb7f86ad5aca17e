"""`--data-dir` finds a data set at any level of the folders a user is likely to point at, Keras 2's and
Keras 3's cache layouts included, or names the layouts it looked for (issue #26 section 7)."""

from __future__ import annotations

import numpy as np
import pytest
from cifar_writers import make_images, write_python_folder, write_tar_gz
from dataset_writers import write_npz

from cifar_tui.engine.data import catalog
from cifar_tui.engine.errors import DataError


@pytest.fixture
def arrays():
    return make_images(30, seed=3), make_images(10, seed=4)


@pytest.mark.parametrize("pointed_at", [
    ".keras", ".keras/datasets", ".keras/datasets/cifar-10-batches-py-target",
    ".keras/datasets/cifar-10-batches-py-target/cifar-10-batches-py", "",  # the home folder holding .keras
])
def test_keras3_cache_found_from_every_level(tmp_path, arrays, pointed_at):
    write_python_folder(tmp_path / ".keras/datasets/cifar-10-batches-py-target/cifar-10-batches-py", *arrays)
    ds = catalog.locate("cifar10", str(tmp_path / pointed_at))()
    np.testing.assert_array_equal(ds.y_test, arrays[1][1])


@pytest.mark.parametrize("pointed_at", ["keras2", "keras2/datasets", "keras3-archive", "keras3-archive/datasets",
                                        "wrapped", "wrapped/my-cifar"])
def test_keras2_archives_and_folders_wrapped_by_users(tmp_path, arrays, pointed_at):
    source = write_python_folder(tmp_path / "src" / "cifar-10-batches-py", *arrays)
    write_python_folder(tmp_path / "keras2/datasets/cifar-10-batches-py", *arrays)
    (tmp_path / "keras3-archive/datasets").mkdir(parents=True)
    write_tar_gz(tmp_path / "keras3-archive/datasets/cifar-10-batches-py-target_archive", source)
    (tmp_path / "wrapped/my-cifar").mkdir(parents=True)  # ~/data/my-cifar/cifar-10-python.tar.gz
    write_tar_gz(tmp_path / "wrapped/my-cifar/cifar-10-python.tar.gz", source)
    ds = catalog.locate("cifar10", str(tmp_path / pointed_at))()
    np.testing.assert_array_equal(ds.x_train, arrays[0][0])


def test_other_data_sets_are_found_in_a_keras_home_too(tmp_path):
    train, _ = write_npz(tmp_path / ".keras/datasets/mnist.npz")
    assert catalog.locate("mnist", str(tmp_path / ".keras"))().y_train.tolist() == train[1].tolist()


def test_nothing_found_names_every_layout_looked_for(tmp_path):
    (tmp_path / "empty" / "photos").mkdir(parents=True)
    with pytest.raises(DataError) as info:
        catalog.locate("cifar10", str(tmp_path / "empty"))
    message = str(info.value)
    for layout in ("cifar-10-batches-py/", "cifar-10-python.tar.gz", "cifar-10-batches-bin/",
                   "cifar-10-batches-py-target/cifar-10-batches-py/", "cifar-10-batches-py-target_archive",
                   "cifar-10-batches-py.tar.gz", "in datasets/ and one folder below"):
        assert layout in message
    assert "\n" not in message
