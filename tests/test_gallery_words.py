"""The galleries' words (issue #25 section 6): the header follows `v` (it still said "fixed by transfer" on the
broken ones), one image is "1 image", and counts per class read apart from digits' class names."""

from __future__ import annotations

from events_factory import CLASSES
from predictions_factory import record_run_with_predictions
from test_app import until
from test_gallery_app import RUN, gallery_of, open_history_run
from textual.widgets import Label

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.gallery import GalleryScreen
from cifar_tui.engine.analysis.galleries import transfer_gallery


def notes_text(app) -> str:
    return str(app.screen.query_one("#gallery-notes", Label).render())


async def test_the_header_follows_v_to_the_images_transfer_broke(tmp_path):
    record_run_with_predictions(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_history_run(app, pilot, tmp_path)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen) and gallery_of(app) is not None)
        assert app.screen.sub_title == f"{RUN}: fixed by transfer"
        await pilot.press("v")
        await until(pilot, lambda: "broken by transfer" in gallery_of(app).title)
        assert app.screen.sub_title == f"{RUN}: broken by transfer"
        assert "images broken per class: " in notes_text(app)


async def test_one_image_is_one_image(tmp_path):
    record_run_with_predictions(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_history_run(app, pilot, tmp_path)
        for key in ("down", "down", "right", "right", "right", "enter"):  # finetune's (bird, cat): one image
            await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen) and gallery_of(app) is not None)
        assert gallery_of(app).total == 1 and notes_text(app).startswith("1 image, shown"), notes_text(app)


def test_counts_per_class_are_named_class_colon_count(tmp_path):
    record_run_with_predictions(tmp_path)
    digits = [str(i) for i in range(10)]  # "fixed per class: 0 1" read as two classes
    for names in (digits, CLASSES):
        gallery = transfer_gallery(tmp_path / RUN, ["scratch", "finetune"], names)
        per_class = gallery.notes[1].split("per class: ")[1]
        assert gallery.notes[1].startswith("images fixed per class: ")
        assert all(part.split(": ")[0] in names and part.split(": ")[1].isdigit() for part in per_class.split(", "))


def test_a_random_init_backbone_is_never_called_transfer(tmp_path):
    """A run from random init (its weights recorded `pretrained: false`) transfers nothing: its galleries of
    what the backbone fixed say so, as the verdict does."""
    record_run_with_predictions(tmp_path)
    names = list(CLASSES)
    random_init = {"label": "random init (NO pretrained weights)", "pretrained": False}
    for reverse, word in ((False, "fixed"), (True, "broken")):
        title = transfer_gallery(tmp_path / RUN, ["scratch", "finetune"], names, reverse, weights=random_init).title
        assert title.endswith(f"({word} by a random-init backbone, not transfer)"), title
    pretrained = {"label": "ImageNet", "pretrained": True}
    assert transfer_gallery(tmp_path / RUN, ["scratch", "finetune"], names, weights=pretrained).title.endswith(
        "(fixed by transfer)")
