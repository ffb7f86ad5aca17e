"""A gallery of test images drawn with Unicode half-blocks (rich-pixels): one character cell holds two
pixels stacked, so a 32x32 CIFAR image is 32 columns x 16 rows at native size, 16 x 8 at half. Needs no
graphics protocol: works over SSH, in tmux and in snapshot tests.

Tiles are turned into segments once, off the UI thread (`render_tiles`, called from the screen's worker);
the widget only lays finished tiles out in as many columns as fit, so a resize reflows at once, and hands
the compositor the visible lines (line API), with no Rich rendering per paint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich_pixels import HalfcellRenderer
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cifar_tui.engine.analysis.galleries import Gallery
from cifar_tui.engine.analysis.predictions import GalleryItem

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


def grid_lines(tiles: list[Tile], size: int, width: int) -> list[Strip]:
    """The tiles in as many columns as fit `width`, one blank column and line between: one Strip per line.
    Joins finished segments only (no style work), so a resize reflows at once on the UI thread."""
    columns = max(1, (width + 1) // (size + 1))
    gap = [Segment(" ")]
    out: list[Strip] = []
    for start in range(0, len(tiles), columns):
        row = tiles[start:start + columns]
        for index in range(len(row[0].lines)):
            segments: list[Segment] = []
            for k, tile in enumerate(row):
                if k:
                    segments += gap
                segments += tile.lines[index]
            out.append(Strip(segments, len(row) * (size + 1) - 1))
        out.append(Strip([]))
    return out


class GalleryView(ScrollView):
    """Scrollable tiles of one `Gallery`, drawn line by line (Textual's line API): the compositor takes the
    visible lines as they are, where a Static holding the grid had Rich render every cell of every tile on
    the UI thread at each paint (about half the gallery's first-paint time, measured with pyinstrument)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gallery: Gallery | None = None
        self.size_px = TILE_SIZES[0]
        self.tiles: list[Tile] = []
        self.lines: list[Strip] = []
        self.laid_out_for: tuple[int, Style] | None = None  # the width and base style of self.lines

    def show(self, gallery: Gallery, tiles: list[Tile], size: int) -> None:
        self.gallery, self.size_px, self.tiles = gallery, size, tiles
        self.laid_out_for = None
        self.scroll_to(0, 0, animate=False)
        self.reflow(self.rich_style)

    def reflow(self, style: Style) -> None:
        """Lay the tiles out for the current width, the widget's style under them (captions' background):
        once per gallery, resize or theme, not per paint."""
        width = self.scrollable_content_region.width or self.size.width
        if (width, style) == self.laid_out_for:
            return
        self.laid_out_for = (width, style)
        self.lines = [line.apply_style(style) for line in grid_lines(self.tiles, self.size_px, width)]
        self.virtual_size = Size(max((line.cell_length for line in self.lines), default=0), len(self.lines))
        self.refresh()

    def on_resize(self) -> None:
        self.reflow(self.rich_style)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        style = self.rich_style
        self.reflow(style)  # a no-op unless the theme changed
        index = scroll_y + y
        if index >= len(self.lines):
            return Strip.blank(self.size.width, style)
        return self.lines[index].crop_extend(scroll_x, scroll_x + self.size.width, style)

    def next_size(self) -> int:
        return TILE_SIZES[(TILE_SIZES.index(self.size_px) + 1) % len(TILE_SIZES)]
