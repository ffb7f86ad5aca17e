"""A gallery of test images drawn with Unicode half-blocks (rich-pixels): one character cell holds two
pixels stacked, so a 32x32 CIFAR image is 32 columns x 16 rows at native size, 16 x 8 at half. Needs no
graphics protocol: works over SSH, in tmux and in snapshot tests.

Tiles are turned into segments once, off the UI thread (`render_tiles`, called from the screen's worker);
the widget only lays finished tiles out in as many columns as fit, so a resize reflows at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich_pixels import HalfcellRenderer
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine.analysis.galleries import Gallery
from engine.analysis.predictions import GalleryItem

TILE_SIZES = (16, 32)  # pixels per side: half and native resolution of a CIFAR image
RIGHT, WRONG, PLAIN = Style(color="green"), Style(color="red"), Style()


class OpaqueHalfcells(HalfcellRenderer):
    """rich-pixels' half-cell renderer for opaque RGB images, with styles built from the colours directly
    (its default parses a "rgb(..) on rgb(..)" string per cell: ~2x slower, and 24 tiles are 3,072 cells)."""

    _colors: dict[tuple[int, int, int], Color] = {}

    def _color(self, pixel) -> Color:
        rgb = pixel[:3]
        color = self._colors.get(rgb)
        if color is None:
            color = self._colors[rgb] = Color.from_rgb(*rgb)
        return color

    def _render_halfcell(self, *, x: int, y: int, get_pixel) -> Segment:
        # the lower pixel is the glyph's foreground, the upper one its background
        return Segment("▄", Style.from_color(self._color(get_pixel((x, y + 1))), self._color(get_pixel((x, y)))))


RENDERER = OpaqueHalfcells()


def image_lines(image: np.ndarray, size: int) -> list[list[Segment]]:
    """An (H, W, 3) uint8 image as `size` x `size` pixels: size/2 lines of `size` half-block cells."""
    picture = Image.fromarray(np.ascontiguousarray(image[..., :3]))
    if picture.size != (size, size):
        picture = picture.resize((size, size), Image.Resampling.BOX)  # averages: no aliasing when halving
    segments = RENDERER.render(picture, None)  # what Pixels.from_image holds, as a plain list
    return [line for line in Segment.split_lines(segments) if line]


def _text_line(text: str, size: int, style: Style) -> list[Segment]:
    return [Segment(text[:size].ljust(size), style)]


@dataclass
class Tile:
    lines: list[list[Segment]]  # each exactly `size` cells wide


def render_tile(item: GalleryItem, gallery: Gallery, size: int) -> Tile:
    if item.image is not None:
        lines = image_lines(item.image, size)
    else:  # its pixels were not kept: a placeholder of the same size
        lines = [_text_line("·" * size, size, Style(dim=True)) for _ in range(size // 2 - 1)]
        lines.append(_text_line("no pixels".center(size), size, Style(dim=True)))
    first, second = gallery.caption(item)
    lines.append(_text_line(first, size, RIGHT if item.true == item.predicted else WRONG))
    lines.append(_text_line(second, size, PLAIN))
    return Tile(lines)


def render_tiles(gallery: Gallery, size: int) -> list[Tile]:
    """Every tile of the gallery at `size` pixels; slow-ish (a few ms a tile): call it in a worker."""
    return [render_tile(item, gallery, size) for item in gallery.items]


class TileGrid:
    """Rich renderable: tiles in as many columns as fit the width, one blank column and line between."""

    def __init__(self, tiles: list[Tile], size: int) -> None:
        self.tiles, self.size = tiles, size

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = max(1, (options.max_width + 1) // (self.size + 1))
        gap, newline = Segment(" "), Segment.line()
        for start in range(0, len(self.tiles), columns):
            row = self.tiles[start:start + columns]
            for index in range(len(row[0].lines)):
                for k, tile in enumerate(row):
                    if k:
                        yield gap
                    yield from tile.lines[index]
                yield newline
            yield newline


class GalleryView(VerticalScroll):
    """Scrollable tiles of one `Gallery`."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gallery: Gallery | None = None
        self.size_px = TILE_SIZES[0]
        self.tiles: list[Tile] = []

    def compose(self):
        yield Static(id="gallery-grid")

    def show(self, gallery: Gallery, tiles: list[Tile], size: int) -> None:
        self.gallery, self.size_px, self.tiles = gallery, size, tiles
        self.query_one("#gallery-grid", Static).update(TileGrid(tiles, size))

    def next_size(self) -> int:
        return TILE_SIZES[(TILE_SIZES.index(self.size_px) + 1) % len(TILE_SIZES)]
