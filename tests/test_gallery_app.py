"""Pilot tests of the galleries: a confusion cell opens exactly its images, top losses, fixed by transfer,
and an older run without per-image predictions says the images are unavailable."""

from __future__ import annotations

from events_factory import record_runs
from predictions_factory import record_run_with_predictions
from test_app import until
from textual.widgets import DataTable, Label

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.gallery import GalleryScreen
from cifar_tui.app.screens.live import RunViewScreen
from cifar_tui.app.widgets.confusion import ConfusionView
from cifar_tui.app.widgets.gallery import GalleryView
from cifar_tui.engine.store.predictions import read_predictions
from cifar_tui.engine.store.reader import load_run

RUN = "20270115-080000-demo-abcd"


async def open_history_run(app, pilot, runs_dir):
    app.push_screen(RunViewScreen(load_run(runs_dir, RUN).state, title=RUN))
    await until(pilot, lambda: isinstance(app.screen, RunViewScreen))
    await pilot.press("3")  # the confusion panel, its table focused
    await pilot.pause(0.3)


def gallery_of(app):
    return app.screen.query_one(GalleryView).gallery


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def title_text(app) -> str:
    return str(app.screen.query_one("#gallery-title", Label).render())


async def test_selecting_a_confusion_cell_opens_exactly_its_images(tmp_path):
    record_run_with_predictions(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_history_run(app, pilot, tmp_path)
        view = app.screen.query_one(ConfusionView)
        assert view.selected == "finetune"
        matrix = app.screen.dashboard.state.strategies["finetune"].confusion_matrix
        # from (airplane, airplane) to (bird, cat): finetune's mistakes sit in column true + 1
        for key in ("down", "down", "right", "right", "right"):
            await pilot.press(key)
        assert view.cell_under_cursor() == (2, 3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen) and gallery_of(app) is not None)
        gallery = gallery_of(app)
        assert gallery.total == len(gallery.items) == matrix[2][3] == 1
        recorded = read_predictions(tmp_path / RUN, "finetune")
        assert [i.index for i in gallery.items] == recorded.cell(2, 3).tolist()
        assert all((i.true, i.predicted) == (2, 3) and i.image is not None for i in gallery.items)
        assert "bird→cat" in gallery.caption(gallery.items[0])[0]
        await pilot.press("escape")
        await pilot.press("left")  # the diagonal cell: the images it got right
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen) and gallery_of(app) is not None)
        assert gallery_of(app).total == matrix[2][2] == 3
        confidences = [i.confidence for i in gallery_of(app).items]
        assert confidences == sorted(confidences, reverse=True)  # most confident first


async def test_top_losses_and_fixed_by_transfer(tmp_path):
    record_run_with_predictions(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_history_run(app, pilot, tmp_path)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen) and gallery_of(app) is not None)
        recorded = read_predictions(tmp_path / RUN, "finetune")
        assert [i.index for i in gallery_of(app).items] == recorded.top_losses(40).tolist()
        await pilot.press("z")  # native size: 32 columns x 16 rows of half-blocks a tile
        view = app.screen.query_one(GalleryView)
        await until(pilot, lambda: view.size_px == 32)
        assert len(view.tiles[0].lines) == 16 + 2  # pixels + caption
        assert "Other way" not in screen_text(app) and "zoom" not in title_text(app)  # one way; keys in the footer
        await pilot.press("escape")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen) and gallery_of(app) is not None)
        scratch = read_predictions(tmp_path / RUN, "scratch")
        fixed = {i for i in range(40) if scratch.wrong[i] and not recorded.wrong[i]}
        assert {i.index for i in gallery_of(app).items} == fixed and gallery_of(app).total == len(fixed)
        await pilot.pause(0.1)
        assert "Other way" in screen_text(app)  # the footer names v here (it was in the title, which wrapped)
        await pilot.press("v")  # the other way: what fine-tuning broke
        broken = {i for i in range(40) if not scratch.wrong[i] and recorded.wrong[i]}
        await until(pilot, lambda: gallery_of(app).total == len(broken) and "broken" in gallery_of(app).title)


async def test_an_older_run_says_its_images_are_unavailable(tmp_path):
    record_runs(tmp_path, (RUN,))  # recorded without per-image predictions
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_history_run(app, pilot, tmp_path)
        app.screen.query_one("#cm-table", DataTable).move_cursor(row=0, column=2)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen))
        title = app.screen.query_one("#gallery-title", Label)
        await until(pilot, lambda: "unavailable" in str(title.render()))


async def test_compare_opens_the_galleries_of_the_run_under_the_cursor(tmp_path):
    from cifar_tui.app.screens.compare import CompareScreen

    record_run_with_predictions(tmp_path, RUN)
    other = "20270116-080000-other-0002"
    record_run_with_predictions(tmp_path, other)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        app.push_screen(CompareScreen([(r, load_run(tmp_path, r).state) for r in (RUN, other)]))
        await pilot.pause(0.2)
        table = app.screen.query_one("#compare-table", DataTable)
        table.focus()
        table.move_cursor(row=4)  # the second run's frozen row
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen) and gallery_of(app) is not None)
        assert app.screen.sub_title == f"{other}: frozen top losses"
        recorded = read_predictions(tmp_path / other, "frozen")
        assert [i.index for i in gallery_of(app).items] == recorded.top_losses(40).tolist()


async def test_at_80_columns_the_gallery_title_is_one_line(tmp_path):
    """The fixed-by-transfer title with its count and keys wrapped at 80 columns ("...: 2 / images, all shown");
    the count is on the notes line now, the keys in the footer."""
    record_run_with_predictions(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_history_run(app, pilot, tmp_path)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen) and gallery_of(app) is not None)
        await pilot.pause(0.1)
        title = app.screen.query_one("#gallery-title", Label)
        assert title.size.height == 1 and "by transfer" in title_text(app), title_text(app)
        notes = str(app.screen.query_one("#gallery-notes", Label).render())
        assert notes.startswith(f"{gallery_of(app).total} images, ") and "fixed by finetune" in notes, notes
