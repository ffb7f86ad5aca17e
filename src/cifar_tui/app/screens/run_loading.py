"""Reading runs off the UI thread for the Runs and Studies screens: the messages their workers post, and
how a loaded run (or why it could not be read) reaches the screen."""

from __future__ import annotations

from textual.message import Message

from cifar_tui.engine.errors import UserError
from cifar_tui.engine.store.reader import LoadedRun, RunListing, load_run


def error_text(exc: BaseException, what: str) -> str:
    """A project error's own sentence; anything else (a bug, a damaged file) with its kind."""
    if isinstance(exc, UserError):
        return str(exc)
    return f"{what}: {type(exc).__name__}: {exc}".splitlines()[0]


class ListingsRead(Message):
    def __init__(self, listings: list[RunListing], error: str | None) -> None:
        super().__init__()
        self.listings, self.error = listings, error


class CompareLoaded(Message):
    def __init__(self, runs: list, error: str | None) -> None:
        super().__init__()
        self.runs, self.error = runs, error


class RunLoaded(Message):
    """A run read by a worker (or why it could not be); `title` names it on its screen if given."""

    def __init__(self, loaded: LoadedRun | None, error: str | None, title: str | None = None) -> None:
        super().__init__()
        self.loaded, self.error, self.title = loaded, error, title


def load_in_worker(poster, runs_dir, run_id: str, title: str | None = None) -> None:
    """Read a run (a long events file can take a while) and post the result to `poster` as `RunLoaded`."""
    try:
        poster.post_message(RunLoaded(load_run(runs_dir, run_id), None, title))
    except Exception as exc:  # UserError, or anything a damaged folder raises: a notification, not a crash
        poster.post_message(RunLoaded(None, error_text(exc, f"cannot open run {run_id}")))


def show_loaded_run(app, message: RunLoaded) -> None:
    if message.error or message.loaded is None:
        app.notify(message.error or "cannot open run", severity="error")
        return
    from cifar_tui.app.screens.live import RunViewScreen

    loaded = message.loaded
    skipped = f" ({len(loaded.skipped_lines)} unreadable lines skipped)" if loaded.skipped_lines else ""
    title = message.title or f"{loaded.listing.run_id}: {loaded.state.status}"
    app.push_screen(RunViewScreen(loaded.state, title=f"{title}{skipped}"))
