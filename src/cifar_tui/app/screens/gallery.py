"""The gallery screen: a confusion cell's images, a strategy's top losses, or what transfer fixed.

The arrays are read (and the gallery chosen) and the tiles drawn in a thread that starts when the screen
is made, so that work overlaps the screen's own mounting and, when it is done first, the screen's first
frame already shows the images (one layout and paint, not "reading…" then the tiles). A run without
per-image predictions (recorded before they existed) says so in place of the images.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Label

from cifar_tui.app.widgets.gallery import TILE_SIZES, GalleryView, Tile, render_tiles
from cifar_tui.engine.analysis.galleries import Gallery, images
from cifar_tui.engine.errors import UserError

GalleryLoader = Callable[[], Gallery]  # runs in a worker thread; raises UserError (StoreError) with one line


class GalleryLoaded(Message):
    def __init__(self, gallery: Gallery | None, error: str = "", tiles: list[Tile] | None = None,
                 size: int = TILE_SIZES[0]) -> None:
        super().__init__()
        self.gallery, self.error, self.tiles, self.size = gallery, error, tiles or [], size


PREPARE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gallery")  # off the UI thread, one at a time


def prepare(loader: GalleryLoader | None, gallery: Gallery | None, size: int) -> GalleryLoaded:
    """Read the arrays (unless `gallery` is given: a zoom) and draw the tiles; in a thread."""
    try:
        gallery = gallery or loader()
    except UserError as exc:
        return GalleryLoaded(None, str(exc))
    try:
        tiles = render_tiles(gallery, size)
    except (ValueError, TypeError, OSError) as exc:  # e.g. pixels of an unexpected shape in the file
        return GalleryLoaded(None, f"cannot draw the images: {exc}")
    return GalleryLoaded(gallery, tiles=tiles, size=size)


def outcome(done: Future[GalleryLoaded]) -> GalleryLoaded:
    """The thread's message; an unexpected error there is said on the screen, not lost with the thread."""
    error = done.exception()
    return GalleryLoaded(None, f"cannot read the gallery: {error}") if error else done.result()


class GalleryScreen(Screen):
    """`loader` makes the gallery; `alternate`, if given, is a second one that `v` switches to (the
    reverse direction of fixed by transfer)."""

    CSS_PATH = "../styles/gallery.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("z", "zoom", "Zoom"),
        Binding("v", "switch", "Other way"),  # in the footer only where there is another way (check_action)
    ]

    def __init__(self, title: str, loader: GalleryLoader, alternate: GalleryLoader | None = None,
                 alternate_title: str = "") -> None:
        super().__init__()
        self.sub_title = title
        self.loaders = [loader] + ([alternate] if alternate else [])
        self.titles = [title, alternate_title or title]  # the header follows `v` (it said "fixed" after it)
        self.current = 0
        self.gallery: Gallery | None = None
        self.first: Future[GalleryLoaded] = PREPARE.submit(prepare, loader, None, TILE_SIZES[0])  # starts now

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return len(self.loaders) > 1 if action == "switch" else True

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Label("reading the run's predictions…", id="gallery-title")
        yield Label("", id="gallery-notes")
        yield GalleryView(id="gallery")
        yield Footer()

    def on_mount(self) -> None:
        if self.first.done():  # ready before the first frame: shown in it
            self.on_gallery_loaded(outcome(self.first))
        else:
            self.first.add_done_callback(lambda done: self.post_message(outcome(done)))

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self, gallery: Gallery | None = None, size: int = TILE_SIZES[0]) -> None:
        """A zoom (`gallery` given) or the other way: read and draw again, in a thread."""
        self.post_message(prepare(self.loaders[self.current], gallery, size))

    def on_gallery_loaded(self, message: GalleryLoaded) -> None:
        title = self.query_one("#gallery-title", Label)
        notes = self.query_one("#gallery-notes", Label)
        if message.gallery is None:
            title.update(f"images unavailable: {message.error}")
            notes.update("")
            return
        gallery = self.gallery = message.gallery
        shown = f"{len(gallery.items)} shown" if len(gallery.items) < gallery.total else (
            "shown" if gallery.total == 1 else "all shown")
        # the keys (z zoom, v the other way) are in the footer and the count on the notes line: in the title
        # they wrapped it at 80 columns ("...: 2 / images, all shown")
        title.update(gallery.title)
        notes.update(" | ".join([f"{images(gallery.total)}, {shown}", *gallery.notes]))
        notes.display = True
        self.query_one(GalleryView).show(gallery, message.tiles, message.size)

    def action_zoom(self) -> None:
        view = self.query_one(GalleryView)
        if view.gallery is not None:
            self.load(view.gallery, view.next_size())

    def action_switch(self) -> None:
        if len(self.loaders) > 1:
            self.current = 1 - self.current
            self.sub_title = self.titles[self.current]
            self.load()
