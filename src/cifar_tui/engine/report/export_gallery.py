"""The galleries of a run's report: the same views as the app's (top losses per strategy, fixed and broken
by transfer) as matplotlib PNG grids with a caption under each image, plus `galleries.csv` listing every
image shown (which test image, true and predicted class, probabilities) so the figures can be checked."""

from __future__ import annotations

import csv
import math
import textwrap
from pathlib import Path

from cifar_tui.engine.analysis.galleries import Gallery, images, top_losses_gallery, transfer_gallery
from cifar_tui.engine.errors import StoreError
from cifar_tui.engine.report.figures import pyplot as _pyplot
from cifar_tui.engine.run.state import RunState

COLUMNS = 6
IMAGES = 24  # per figure: four rows of six
TILE_INCHES = 1.6
HEADER_INCHES = 1.25  # the title and notes (4 lines), above the first row's captions (3 lines)
DPI = 100
CSV_COLUMNS = ("figure", "position", "test_index", "true", "predicted", "confidence", "true_probability",
               "caption")


def figure_size_px(images: int) -> tuple[int, int]:
    """Width and height in pixels of a gallery figure of `images` tiles (exact: no tight bounding box)."""
    rows = max(1, math.ceil(images / COLUMNS))
    return round(COLUMNS * TILE_INCHES * DPI), round((rows * TILE_INCHES + HEADER_INCHES) * DPI)


def plot_gallery(gallery: Gallery, path: Path) -> list[str]:
    """One grid of up to IMAGES tiles; returns the captions, in order."""
    fig, captions = gallery_figure(gallery)
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    return captions


CAPTION_CHARS = 24  # a tile's width at 7 pt, with a gap to the next


def tile_caption(lines: list[str]) -> str:
    """A caption that fits its tile: "true→predicted" on one line, or on two with each class name cut to the
    tile's width; then the probabilities. galleries.csv keeps the whole caption."""
    first, *rest = lines
    true, arrow, predicted = first.partition("→")
    if len(first) <= CAPTION_CHARS or not arrow:
        return "\n".join([_cut(first), *rest])
    return "\n".join([_cut(true, CAPTION_CHARS - 1) + arrow, _cut(predicted), *rest])


def _cut(text: str, width: int = CAPTION_CHARS) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def _header(gallery: Gallery, lines: int = 4, width: int = 110) -> str:
    """The title, count and notes wrapped to the figure, at most `lines` lines (the last cut says so)."""
    header = textwrap.wrap(f"{gallery.title}: {images(gallery.total)}", width)
    for note in gallery.notes:
        header += textwrap.wrap(note, width)
    if len(header) > lines:
        header = [*header[:lines - 1], _cut(header[lines - 1], width - 1) + "…"]
    return "\n".join(header)


def gallery_figure(gallery: Gallery):
    """(figure, captions in order): exactly figure_size_px, laid out by hand (no tight bounding box)."""
    plt = _pyplot()
    items = gallery.items[:IMAGES]
    rows = max(1, math.ceil(len(items) / COLUMNS))
    width, height = figure_size_px(len(items))
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(width / DPI, height / DPI), dpi=DPI, squeeze=False)
    captions = []
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= len(items):
            continue
        item = items[k]
        caption = "\n".join(gallery.caption(item))
        captions.append(caption)
        if item.image is not None:
            ax.imshow(item.image, interpolation="nearest")
        else:
            ax.text(0.5, 0.5, "pixels not kept", ha="center", va="center", fontsize=7)
        ax.set_title(tile_caption(gallery.caption(item)), fontsize=7,
                     color="green" if item.true == item.predicted else "red")
    fig.suptitle(_header(gallery), fontsize=8, y=1 - 0.08 / (height / DPI), va="top")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - HEADER_INCHES / (height / DPI), hspace=0.45)
    return fig, captions


def export_galleries(state: RunState, run_dir: Path | None, out_dir: Path) -> tuple[list[str], list[str]]:
    """Writes what the run's recorded predictions allow; returns (figure file names, notes for the page:
    why a gallery is missing). Never raises for a run without predictions (an older run)."""
    if run_dir is None:
        return [], []
    names = list(state.dataset.get("class_names") or [])
    tested = [n for n, s in state.strategies.items() if s.confusion_matrix is not None]
    galleries: list[tuple[str, Gallery]] = []
    missing: list[str] = []
    for name in tested:
        try:
            galleries.append((f"gallery_top_losses_{name}.png", top_losses_gallery(run_dir, name, names, IMAGES)))
        except StoreError as exc:
            missing.append(str(exc))
    if "scratch" in tested and len(tested) > 1 and len(galleries) == len(tested):
        for reverse, word in ((False, "fixed"), (True, "broken")):
            try:
                galleries.append((f"gallery_{word}_by_transfer.png",
                                  transfer_gallery(run_dir, tested, names, reverse, IMAGES, state.weights)))
            except StoreError as exc:
                missing.append(str(exc))
    missing += [f"{gallery.title}: no such images" for _, gallery in galleries if not gallery.total]
    galleries = [(file_name, gallery) for file_name, gallery in galleries if gallery.total]
    rows = []
    for file_name, gallery in galleries:
        captions = plot_gallery(gallery, out_dir / file_name)
        for position, (item, caption) in enumerate(zip(gallery.items, captions, strict=False)):
            rows.append([file_name, position, item.index, names[item.true], names[item.predicted],
                         round(item.confidence, 4), round(item.true_probability, 4), caption.replace("\n", " ")])
    if rows:
        with open(out_dir / "galleries.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            writer.writerows(rows)
    return [file_name for file_name, _ in galleries], sorted(set(missing))
