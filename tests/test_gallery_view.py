"""The gallery's drawing path: tiles read and drawn in a thread that starts with the screen, laid out once
per width as finished lines (Textual's line API), reflowed on a resize, scrolled to the last tile."""

from __future__ import annotations

from functools import partial

from predictions_factory import record_run_with_predictions
from test_app import until

from cifar_tui.app.app import CifarTuiApp
from cifar_tui.app.screens.gallery import GalleryScreen
from cifar_tui.app.widgets.gallery import GalleryView, grid_lines
from cifar_tui.engine.analysis.galleries import top_losses_gallery

RUN = "20270115-080000-demo-abcd"
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def loader(runs_dir):
    return partial(top_losses_gallery, runs_dir / RUN, "finetune", NAMES)


def test_the_screen_reads_and_draws_its_tiles_before_it_is_mounted(tmp_path):
    record_run_with_predictions(tmp_path)
    screen = GalleryScreen("top losses", loader(tmp_path))  # made, never mounted
    loaded = screen.first.result(timeout=30)
    assert loaded.error == "" and len(loaded.tiles) == len(loaded.gallery.items) == 40


def test_top_losses_ranks_every_test_image_and_shows_the_first_page(tmp_path):
    """Its title said "96 images, all shown" where 283 of 360 test images were wrong."""
    record_run_with_predictions(tmp_path)
    gallery = loader(tmp_path)(limit=10)
    assert len(gallery.items) == 10 and gallery.total == 40  # 10 shown of the 40 ranked test images


def test_tiles_are_laid_out_in_as_many_columns_as_fit(tmp_path):
    record_run_with_predictions(tmp_path)
    tiles = GalleryScreen("top losses", loader(tmp_path)).first.result(timeout=30).tiles[:24]
    for width, columns in ((140, 8), (50, 3), (49, 2), (10, 1)):  # 16 cells a tile, one blank column between
        lines = grid_lines(tiles, 16, width)
        rows = -(-24 // columns)
        assert len(lines) == rows * (8 + 2 + 1)  # 8 lines of half-blocks, 2 of caption, 1 blank
        assert max(line.cell_length for line in lines) == columns * 17 - 1


async def test_the_view_reflows_on_a_resize_and_scrolls_to_the_last_tile(tmp_path):
    record_run_with_predictions(tmp_path)
    app = CifarTuiApp(tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = GalleryScreen("top losses", loader(tmp_path))
        app.push_screen(screen)
        await until(pilot, lambda: screen.is_mounted and screen.query_one(GalleryView).gallery is not None)
        view = screen.query_one(GalleryView)
        wide = len(view.lines)
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: len(view.lines) > wide)  # fewer columns, more lines
        view.scroll_end(animate=False)
        await pilot.pause()
        last = view.gallery.caption(view.gallery.items[-1])[1]
        shown = [view.render_line(y).text for y in range(view.size.height)]
        assert any(last in line for line in shown)
