"""Data problems a user meets, each named with the file and the fix: a cut-off download, a cache folder
without test_batch, class names saved with a BOM or in another encoding."""

from __future__ import annotations

import pytest
from cifar_writers import CLASSES, make_images, py2_pickle, write_binary_folder, write_python_folder, write_tar_gz

from cifar_tui.engine.data.sources import load_cifar10, read_binary_folder, read_python_folder, read_tar_gz
from cifar_tui.engine.errors import DataError


@pytest.fixture
def arrays():
    return make_images(30, seed=3), make_images(20, seed=4)


def test_a_cut_off_archive_says_incomplete_with_its_size(tmp_path, arrays):
    py = write_python_folder(tmp_path / "cifar-10-batches-py", *arrays)
    archive = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", py)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DataError) as info:
        read_tar_gz(archive)
    message = str(info.value)
    assert f"is incomplete ({archive.stat().st_size:,} bytes" in message and "download it again" in message
    assert "end-of-stream" not in message


def test_a_cache_folder_without_test_batch_names_the_folder_and_the_file(keras_home, arrays):
    folder = write_python_folder(keras_home / "datasets/cifar-10-batches-py-target/cifar-10-batches-py", *arrays)
    (folder / "test_batch").unlink()

    def offline():
        raise Exception("URL fetch failure")

    with pytest.raises(DataError) as info:
        load_cifar10(None, download=offline)
    assert f"{folder} holds CIFAR-10 batches but is missing test_batch" in str(info.value)
    with pytest.raises(DataError, match="is missing test_batch"):
        load_cifar10(str(folder))  # the same folder given as --data-dir


def test_class_names_lose_a_bom_and_whitespace(tmp_path, arrays):
    binary = write_binary_folder(tmp_path / "cifar-10-batches-bin", *arrays)
    (binary / "batches.meta.txt").write_bytes(("\n".join(CLASSES) + "\n").encode("utf-8-sig"))
    py = write_python_folder(tmp_path / "cifar-10-batches-py", *arrays)
    (py / "batches.meta").write_bytes(py2_pickle({b"label_names": [b"\xef\xbb\xbf airplane "] +
                                                  [c.encode() for c in CLASSES[1:]]}))
    assert read_binary_folder(binary).class_names == CLASSES
    assert read_python_folder(py).class_names == CLASSES


def test_class_names_in_another_encoding_are_refused_naming_the_file(tmp_path, arrays):
    binary = write_binary_folder(tmp_path / "cifar-10-batches-bin", *arrays)
    (binary / "batches.meta.txt").write_bytes(("\n".join(["avi\u00f3n", *CLASSES[1:]]) + "\n").encode("latin-1"))
    with pytest.raises(DataError, match=r"batches.meta.txt: class names are not UTF-8 text .* save the file as"):
        read_binary_folder(binary)
