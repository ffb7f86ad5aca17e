"""A folder of images, one sub-folder per class: listed, split, decoded to 32x32x3, digested, never changed."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from dataset_writers import write_image_folder

from cifar_tui.engine.data import catalog
from cifar_tui.engine.data.image_decode import decode, read_image_folder
from cifar_tui.engine.data.image_folder import list_folder
from cifar_tui.engine.errors import DataError


def _snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_folder_of_classes_is_read_carved_and_recorded(tmp_path):
    root = write_image_folder(tmp_path / "pets", per_class=10)
    (root / "notes.txt").write_text("not an image")
    (root / "cat" / ".DS_Store").write_bytes(b"\0")
    before = _snapshot(root)
    ds = read_image_folder(root)
    assert ds.name == "folder:pets" and ds.class_names == ["cat", "dog", "owl"]
    assert ds.x_train.shape == (24, 32, 32, 3) and ds.x_test.shape == (6, 32, 32, 3)
    assert np.bincount(ds.y_test).tolist() == [2, 2, 2]  # 20% of each class, stratified
    assert ds.details["train_per_class"] == {"cat": 8, "dog": 8, "owl": 8}
    assert ds.details["test_per_class"] == {"cat": 2, "dog": 2, "owl": 2}
    assert ds.details["digest"].startswith("sha256:") and ds.details["ignored_files"] == 1
    assert ds.details["modes"] == {"RGB": 24, "L": 6}
    assert ds.augmentation == "translate"  # no mirroring of content the tool cannot know
    # class k is mostly colour k: the dominant channel survives decoding, cropping and resizing
    assert ds.x_train[ds.y_train == 0][..., 0].mean() > ds.x_train[ds.y_train == 0][..., 2].mean() + 50
    assert _snapshot(root) == before  # nothing written into the user's folder


def test_the_carved_test_set_is_the_same_in_every_run_and_the_digest_knows_the_folder(tmp_path):
    root = write_image_folder(tmp_path / "a")
    first, again = read_image_folder(root), read_image_folder(root)
    np.testing.assert_array_equal(first.x_test, again.x_test)
    copy = shutil.copytree(root, tmp_path / "b")
    assert read_image_folder(copy).details["digest"] == first.details["digest"]  # same files, same data
    (copy / "dog" / "img000.png").write_bytes((root / "cat" / "img000.png").read_bytes())
    assert read_image_folder(copy).details["digest"] != first.details["digest"]


def test_given_train_and_test_folders_are_used_as_given(tmp_path):
    write_image_folder(tmp_path / "set" / "train", per_class=6)
    write_image_folder(tmp_path / "set" / "test", per_class=2)
    ds = catalog.load("folder", str(tmp_path / "set"))
    assert (len(ds.y_train), len(ds.y_test)) == (18, 6)
    assert ds.details["test_set"] == "given: test/"


def test_val_stands_for_test_and_an_unknown_test_class_is_refused(tmp_path):
    write_image_folder(tmp_path / "set" / "train", classes=("a", "b"), per_class=4)
    write_image_folder(tmp_path / "set" / "val", classes=("a", "b"), per_class=2)
    assert read_image_folder(tmp_path / "set").details["test_set"] == "given: val/"
    write_image_folder(tmp_path / "set" / "test", classes=("a", "zebra"), per_class=2)
    with pytest.raises(DataError, match="test has classes that train/ has not: zebra"):
        list_folder(tmp_path / "set")


def test_decoding_turns_photos_upright_and_handles_gray_16_bit_and_alpha():
    import io

    from PIL import Image

    def saved(image, fmt="PNG", **kwargs):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **kwargs)
        return buffer.getvalue()

    tall = np.zeros((80, 40, 3), np.uint8)
    tall[:40] = 255  # top half white
    exif = Image.Exif()
    exif[0x0112] = 3  # orientation: rotated 180 degrees, as a phone records it
    pixels, mode = decode(saved(Image.fromarray(tall), "JPEG", exif=exif, quality=95))
    assert mode == "RGB" and pixels.shape == (32, 32, 3)
    assert pixels[:8].mean() < 60 and pixels[-8:].mean() > 200  # shown upright: the white half at the bottom
    sixteen = Image.fromarray(np.full((10, 10), 40000, np.uint16))
    assert decode(saved(sixteen))[0].mean() == pytest.approx(40000 >> 8, abs=1)  # scaled, not clipped to 255
    assert decode(saved(Image.new("RGBA", (50, 50), (10, 20, 30, 0))))[0][0, 0].tolist() == [10, 20, 30]


def test_unreadable_images_are_refused_in_one_line_naming_them(tmp_path):
    root = write_image_folder(tmp_path / "pets")
    (root / "dog" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    truncated = root / "cat" / "img001.jpg"
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(DataError) as info:
        read_image_folder(root)
    message = str(info.value)
    assert "2 file(s) are not readable images" in message and "dog/broken.jpg" in message
    assert "cat/img001.jpg" in message and "\n" not in message


@pytest.mark.parametrize("make, words", [
    (lambda root: (root / "only").mkdir(parents=True), r"holds 1 class folder\(s\)"),
    (lambda root: (root / "a").mkdir(parents=True) or (root / "b").mkdir(), "a class needs at least 2"),
    (lambda root: (root / "train" / "a").mkdir(parents=True), "has train/ but no test/"),
])
def test_folders_that_are_not_a_classification_are_refused(tmp_path, make, words):
    make(tmp_path / "x")
    with pytest.raises(DataError, match=words):
        catalog.locate("folder", str(tmp_path / "x"))


def test_folder_needs_a_data_dir_and_a_cifar_folder_is_pointed_at_its_data_set(tmp_path, cifar_dir):
    from cifar_tui.engine.config.config import ExperimentConfig
    from cifar_tui.engine.errors import ConfigError

    with pytest.raises(ConfigError, match="the data set .folder. needs a data dir"):
        ExperimentConfig(dataset="folder").validate()
    root = write_image_folder(tmp_path / "pets")
    with pytest.raises(DataError, match="holds no CIFAR-10 but a folder of images, one sub-folder per class: pass "
                                        "--dataset folder"):
        catalog.locate("cifar10", str(root))
    with pytest.raises(DataError, match=r"cifar-10-batches-py holds CIFAR-10, not a folder of class folders: pass "
                                        r"--dataset cifar10"):
        catalog.locate("folder", str(cifar_dir))


def test_runs_show_and_the_report_say_what_the_folder_was(tmp_path):
    """A run on a folder names its classes, counts, test set and digest, and its distance, in `runs show`
    and in the exported report; --domain-distance is the flag that asks for the distance."""
    from events_factory import full_run
    from typer.testing import CliRunner

    from cifar_tui.cli.flags import config_from_flags
    from cifar_tui.cli.main import app
    from cifar_tui.engine.report.export import _facts
    from cifar_tui.engine.store.reader import load_run
    from cifar_tui.engine.store.recorder import RunRecorder

    assert config_from_flags(domain_distance=True).domain_distance is True
    run_id = "20270101-000000-pets-0000abcd"
    events = full_run(run_id)
    events[0].dataset = {**events[0].dataset, "name": "folder:pets", "folder": "/data/pets",
                         "digest": "sha256:" + "ab" * 32, "train_per_class": {"cat": 8, "dog": 8},
                         "test_per_class": {"cat": 2, "dog": 2}, "test_set": "carved: 20% of each class, seed 0",
                         "conversion": "central square crop, resized to 32x32 (Lanczos), RGB",
                         "imagenet_distance": {"value": 1.25, "images": 16, "image_size": 224}}
    recorder = RunRecorder(tmp_path, run_id)
    for event in events:
        recorder(event)
    recorder.close()
    out = CliRunner().invoke(app, ["runs", "show", run_id, "--runs-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "dataset folder:pets" in out.output
    assert ("folder: /data/pets: 2 classes (train+test images: cat 8+2, dog 8+2); test set carved: 20% of each "
            "class, seed 0") in out.output
    assert f"content digest: sha256:{'ab' * 32}" in out.output
    assert "distance from ImageNet: 1.250 nats" in out.output and "16 training images at 224 px" in out.output
    facts = dict(_facts(load_run(tmp_path, run_id).state))  # the run report's "facts" table
    assert facts["content digest"] == "sha256:" + "ab" * 32 and facts["distance from ImageNet"].startswith("1.250")
