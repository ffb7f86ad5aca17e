"""The genuine CIFAR-10 formats load to the same arrays, and a data file can never run code."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from cifar_writers import (
    batch_bytes,
    make_images,
    py2_pickle,
    write_binary_folder,
    write_python_folder,
    write_tar_gz,
)

from cifar_tui.engine.data import cifar_files as cf
from cifar_tui.engine.data.sources import load_cifar10, read_binary_folder, read_python_folder, read_tar_gz
from cifar_tui.engine.errors import DataError


@pytest.fixture
def arrays():
    return make_images(50, seed=3), make_images(20, seed=4)


def test_three_formats_load_the_same_arrays(tmp_path, arrays):
    train, test = arrays
    py = write_python_folder(tmp_path / "cifar-10-batches-py", train, test)
    binary = write_binary_folder(tmp_path / "cifar-10-batches-bin", train, test)
    archive = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", py)
    loaded = [read_python_folder(py), read_binary_folder(binary), read_tar_gz(archive)]
    for ds in loaded:
        np.testing.assert_array_equal(ds.x_train, train[0])
        np.testing.assert_array_equal(ds.y_train, train[1])
        np.testing.assert_array_equal(ds.x_test, test[0])
        np.testing.assert_array_equal(ds.y_test, test[1])
        assert ds.class_names[0] == "airplane" and ds.class_names[9] == "truck"


def test_pixel_planes_red_green_blue_row_major(tmp_path):
    # One hand-built row: red plane all 10 except pixel (0,1)=200; green 20; blue 30.
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.full(1024, 30)]).astype(np.uint8)
    row[1] = 200  # red plane, row 0, column 1
    row[1024 + 32] = 201  # green plane, row 1, column 0
    data = py2_pickle({b"data": row[None, :], b"labels": [7]})
    images, labels = cf.parse_python_batch(data, "hand-made")
    img = images[0]
    assert img.shape == (32, 32, 3) and labels.tolist() == [7]
    assert img[0, 1].tolist() == [200, 20, 30]
    assert img[1, 0].tolist() == [10, 201, 30]
    assert img[5, 5].tolist() == [10, 20, 30]


def test_genuine_pickle_names_numpy_core_and_loads():
    images, labels = make_images(3, seed=0)
    data = batch_bytes(images, labels)
    assert b"numpy.core.multiarray\n_reconstruct" in data  # what the real files name
    out, out_labels = cf.parse_python_batch(data, "b")
    np.testing.assert_array_equal(out, images)


def test_python3_written_pickle_also_loads():
    images, labels = make_images(4, seed=5)
    data = pickle.dumps({b"data": images.transpose(0, 3, 1, 2).reshape(4, -1), b"labels": labels.tolist()},
                        protocol=2)
    out, _ = cf.parse_python_batch(data, "py3")
    np.testing.assert_array_equal(out, images)


def test_malicious_pickle_does_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    data = pickle.dumps({b"data": Evil(), b"labels": [0]}, protocol=2)
    with pytest.raises(DataError, match=r"evil_batch: refusing to load: the file asks for \w+\.open;") as info:
        cf.parse_python_batch(data, "evil_batch")
    assert not marker.exists()
    assert "malicious" not in str(info.value) and "\n" not in str(info.value)


def bare_ndarray_batch(n: int = 10000) -> bytes:
    """A batch whose data is `numpy.ndarray((n, 3072), 'u1')` called directly: no bytes, n images claimed."""
    from cifar_writers import _global, _int, _str

    call = _global("numpy", "ndarray") + b"(" + _int(n) + _int(3072) + b"t" + _str(b"u1") + b"\x86" + b"R"
    labels = b"]" + b"(" + b"".join(_int(i % 10) for i in range(n)) + b"e"
    return b"\x80\x02}(" + _str(b"data") + call + _str(b"labels") + labels + b"u."


def test_an_array_without_its_bytes_is_refused_in_one_line(tmp_path):
    data = bare_ndarray_batch()
    assert len(data) < 25_000  # a small file claiming 10,000 images (30 MB of pixels)
    with pytest.raises(DataError) as info:
        cf.parse_python_batch(data, "data_batch_1")
    message = str(info.value)
    assert message.startswith("data_batch_1: refusing to load: the file asks for numpy.ndarray((10000, 3072), 'u1')")
    assert "without the array's bytes" in message and "\n" not in message and "malicious" not in message


def test_array_bytes_must_fill_the_declared_shape():
    from numpy._core.numeric import _frombuffer

    class ShortArray:  # what protocol 5 writes for an array, with the bytes of one image where two are declared
        def __reduce__(self):
            return (_frombuffer, (bytearray(3072), np.dtype("u1"), (2, 3072), "C"))

    cut = pickle.dumps({b"data": ShortArray(), b"labels": [0, 1]}, protocol=5)
    with pytest.raises(DataError, match=r"declares shape \(2, 3072\) of uint8 \(6,144 bytes\) but carries 3,072"):
        cf.parse_python_batch(cut, "f")


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_python3_resaves_with_numpy_integer_labels_load(protocol):
    images, labels = make_images(6, seed=7)
    rows = images.transpose(0, 3, 1, 2).reshape(6, -1)
    data = pickle.dumps({"data": rows, "labels": [np.int64(v) for v in labels], "batch_label": "re-saved"},
                        protocol=protocol)
    out, out_labels = cf.parse_python_batch(data, "resaved")
    np.testing.assert_array_equal(out, images)
    np.testing.assert_array_equal(out_labels, labels)
    as_array = pickle.dumps({"data": rows, "labels": np.asarray(labels, np.int32)}, protocol=protocol)
    np.testing.assert_array_equal(cf.parse_python_batch(as_array, "resaved")[1], labels)


def test_object_arrays_are_refused_by_name():
    data = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": np.array([0], dtype=object)},
                        protocol=2)
    with pytest.raises(DataError, match="refusing to load: the file asks for numpy dtype object"):
        cf.parse_python_batch(data, "f")


def test_truncated_pickle_names_file(tmp_path, arrays):
    py = write_python_folder(tmp_path / "cifar-10-batches-py", *arrays)
    batch = py / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(DataError, match="data_batch_3: not a readable CIFAR-10 batch file"):
        read_python_folder(py)


def test_wrong_shape_and_bad_labels():
    with pytest.raises(DataError, match="uint8 N x 3072"):
        cf.parse_python_batch(py2_pickle({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}), "f")
    with pytest.raises(DataError, match="labels must be in 0..9"):
        cf.parse_python_batch(py2_pickle({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}), "f")
    with pytest.raises(DataError, match="1 labels for 2 images"):
        cf.parse_python_batch(py2_pickle({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), "f")


def test_truncated_binary_names_file(tmp_path, arrays):
    folder = write_binary_folder(tmp_path / "cifar-10-batches-bin", *arrays)
    (folder / "test_batch.bin").write_bytes((folder / "test_batch.bin").read_bytes()[:-7])
    with pytest.raises(DataError, match="test_batch.bin: size .* not a whole number of 3073-byte"):
        read_binary_folder(folder)


@pytest.mark.parametrize("member", ["../evil", "/etc/evil", "cifar-10-batches-py/../../x"])
def test_tar_with_unsafe_members_is_refused(tmp_path, arrays, member):
    py = write_python_folder(tmp_path / "cifar-10-batches-py", *arrays)
    archive = write_tar_gz(tmp_path / "bad.tar.gz", py, extra_members={member: b"x"})
    with pytest.raises(DataError, match="unsafe member path"):
        read_tar_gz(archive)


def test_corrupt_archive(tmp_path):
    bad = tmp_path / "cifar-10-python.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="not a readable .tar.gz"):
        read_tar_gz(bad)


def test_data_dir_forms(tmp_path, arrays):
    py = write_python_folder(tmp_path / "a" / "cifar-10-batches-py", *arrays)
    write_binary_folder(tmp_path / "b" / "cifar-10-batches-bin", *arrays)
    (tmp_path / "c").mkdir()
    write_tar_gz(tmp_path / "c" / "cifar-10-python.tar.gz", py)
    for where in (py, tmp_path / "a", tmp_path / "b", tmp_path / "c", tmp_path / "c" / "cifar-10-python.tar.gz"):
        ds = load_cifar10(str(where), download=_no_download)
        np.testing.assert_array_equal(ds.y_test, arrays[1][1])


def _no_download():
    raise AssertionError("must not download when a local copy exists")


def test_missing_data_dir_says_how_to_fix(tmp_path):
    with pytest.raises(DataError, match="does not exist.*--data-dir"):
        load_cifar10(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no CIFAR-10"):
        load_cifar10(str(tmp_path / "empty"))


@pytest.mark.parametrize("layout", ["datasets/cifar-10-batches-py-target/cifar-10-batches-py",
                                    "datasets/cifar-10-batches-py"])
def test_keras_cache_layouts_keras3_and_keras2(keras_home, arrays, layout):
    write_python_folder(keras_home / layout, *arrays)
    ds = load_cifar10(None, download=_no_download)
    np.testing.assert_array_equal(ds.x_train, arrays[0][0])


def test_offline_without_cache_fails_with_one_clear_line(keras_home):
    def offline():
        raise Exception("URL fetch failure on https://x/cifar-10-python.tar.gz: None -- Name or service not known")

    with pytest.raises(DataError) as info:
        load_cifar10(None, download=offline)
    message = str(info.value)
    assert "\n" not in message
    assert str(keras_home / "datasets") in message and "Name or service not known" in message
    assert "--data-dir" in message and "--dataset digits" in message
