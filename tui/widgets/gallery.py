"""A gallery of test images drawn with Unicode half-blocks (rich-pixels): one character cell holds two
pixels stacked, so a 32x32 CIFAR image is 32 columns x 16 rows at native size, 16 x 8 at half. Needs no
graphics protocol: works over SSH, in tmux and in snapshot tests.

The whole page is one Rich renderable (a grid of tiles) in one Static: cheap to draw, and it reflows
when the terminal is resized.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich_pixels import Pixels
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine.analysis.galleries import Gallery
from engine.analysis.predictions import GalleryItem

TILE_SIZES = (16, 32)  # pixels per side: half and native resolution of a CIFAR image


def image_pixels(image: np.ndarray, size: int) -> Pixels:
    """An (H, W, 3) uint8 image as size x size pixels, size columns x size/2 rows of half-blocks."""
    picture = Image.fromarray(np.ascontiguousarray(image[..., :3]))
    if picture.size != (size, size):
        picture = picture.resize((size, size), Image.Resampling.BOX)  # averages: no aliasing when halving
    return Pixels.from_image(picture)


def missing_image(size: int) -> Text:
    """A placeholder of the tile's size for an image whose pixels were not kept."""
    rows = ["·" * size] * (size // 2 - 1) + ["no pixels".center(size)[:size]]
    return Text("\n".join(rows), style="dim")


def tile(item: GalleryItem, gallery: Gallery, size: int) -> Group:
    picture = image_pixels(item.image, size) if item.image is not None else missing_image(size)
    first, second = gallery.caption(item)
    style = "green" if item.true == item.predicted else "red"
    return Group(picture, Text(first[:size], style=style, no_wrap=True), Text(second[:size], no_wrap=True))


def gallery_grid(gallery: Gallery, width: int, size: int = TILE_SIZES[0]) -> Table:
    """The tiles in as many columns as fit in `width` character cells."""
    columns = max(1, (width + 1) // (size + 1))
    grid = Table.grid(padding=(0, 1, 1, 0))
    for _ in range(columns):
        grid.add_column(width=size, no_wrap=True)
    tiles = [tile(item, gallery, size) for item in gallery.items]
    for start in range(0, len(tiles), columns):
        row = tiles[start:start + columns]
        grid.add_row(*row, *[""] * (columns - len(row)))
    return grid


class GalleryView(VerticalScroll):
    """Scrollable tiles of one `Gallery`; `zoom()` switches between half and native resolution."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gallery: Gallery | None = None
        self.size_px = TILE_SIZES[0]

    def compose(self):
        yield Static(id="gallery-grid")

    def show(self, gallery: Gallery) -> None:
        self.gallery = gallery
        self._draw()

    def zoom(self) -> None:
        self.size_px = TILE_SIZES[(TILE_SIZES.index(self.size_px) + 1) % len(TILE_SIZES)]
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self.gallery is None:
            return
        width = max(self.size.width - 2, self.size_px)  # leave room for the scroll bar
        self.query_one("#gallery-grid", Static).update(gallery_grid(self.gallery, width, self.size_px))
