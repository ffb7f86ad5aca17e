"""Opening galleries from a run's dashboard (live or from history): which run folder, which loader."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from cifar_tui.app.screens.gallery import GalleryScreen
from cifar_tui.engine.analysis.galleries import cell_gallery, top_losses_gallery, transfer_gallery, transfer_word

TRANSFER = ("frozen", "finetune")  # the strategies `fixed by transfer` compares with scratch


def _run(screen) -> tuple[Path, list[str], list[str]] | None:
    """The dashboard's run folder, class names and finished strategies; None (with a notice) if none."""
    return _run_of(screen.app, screen.dashboard.state)


def _run_of(app, state) -> tuple[Path, list[str], list[str]] | None:
    if not state.run_id:
        app.notify("no run to show images of yet", severity="warning")
        return None
    names = list(state.dataset.get("class_names") or [])
    finished = [n for n, s in state.strategies.items() if s.confusion_matrix is not None]
    if not names or not finished:
        app.notify("no strategy has been tested yet", severity="warning")
        return None
    return Path(app.runs_dir) / state.run_id, names, finished


def untested_notice(state, strategy: str | None, finished: list[str]) -> str | None:
    """Why `strategy` (a row the user picked) has no test-set gallery, or None when it has one. Without
    this a cancelled strategy's row opened another strategy's gallery under that one's name, unnoticed."""
    if strategy is None or strategy in finished:
        return None
    status = state.strategies[strategy].status if strategy in state.strategies else "not in this run"
    why = {"pending": "it never ran", "not started": "it never ran", "running": "it is still training",
           "cancelled": "it was cancelled first", "failed": "it failed first"}.get(status, status)
    return f"{strategy} was never tested ({why}): it has no test-set images to show"


def open_run_gallery(app, state, kind: str, strategy: str | None = None) -> None:
    """From a screen without a dashboard (Compare): `kind` is "top_losses" or "fixed_by_transfer", for the
    row's `strategy` (fixed by transfer: its own if it is a transfer strategy). An untested strategy opens
    nothing and says why."""
    found = _run_of(app, state)
    if found is None:
        return
    run_dir, names, finished = found
    if kind == "fixed_by_transfer" and strategy not in ("scratch", *TRANSFER):
        strategy = None  # the probe's row: its run's transfer gallery, which does not involve the probe
    if (notice := untested_notice(state, strategy, finished)) is not None:
        app.notify(notice, severity="warning")
        return
    if kind == "top_losses":
        strategy = strategy or finished[-1]
        app.push_screen(GalleryScreen(f"{state.run_id}: {strategy} top losses",
                                      partial(top_losses_gallery, run_dir, strategy, names)))
    else:
        # a frozen row compares scratch with frozen even where finetune was tested too (transfer_gallery
        # prefers finetune among the strategies it is given)
        compared = [n for n in finished if n == "scratch" or n == strategy] if strategy in TRANSFER else finished
        word = transfer_word(state.weights)
        app.push_screen(GalleryScreen(f"{state.run_id}: fixed {word}",
                                      partial(transfer_gallery, run_dir, compared, names, weights=state.weights),
                                      partial(transfer_gallery, run_dir, compared, names, reverse=True,
                                              weights=state.weights),
                                      f"{state.run_id}: broken {word}"))


def open_cell_gallery(screen, strategy: str, true: int, predicted: int) -> None:
    found = _run(screen)
    if found is not None:
        run_dir, names, _ = found
        screen.app.push_screen(GalleryScreen(
            f"{screen.dashboard.state.run_id}: {strategy} {names[true]} → {names[predicted]}",
            partial(cell_gallery, run_dir, strategy, true, predicted, names)))


def open_top_losses(screen, strategy: str | None) -> None:
    found = _run(screen)
    if found is not None:
        run_dir, names, finished = found
        if (notice := untested_notice(screen.dashboard.state, strategy, finished)) is not None:
            screen.app.notify(notice, severity="warning")  # the heatmap offers tested ones only: a safeguard
            return
        strategy = strategy or finished[-1]
        screen.app.push_screen(GalleryScreen(f"{screen.dashboard.state.run_id}: {strategy} top losses",
                                             partial(top_losses_gallery, run_dir, strategy, names)))


def open_fixed_by_transfer(screen) -> None:
    found = _run(screen)
    if found is not None:
        run_dir, names, finished = found
        state = screen.dashboard.state
        word = transfer_word(state.weights)
        screen.app.push_screen(GalleryScreen(
            f"{state.run_id}: fixed {word}",
            partial(transfer_gallery, run_dir, finished, names, weights=state.weights),
            partial(transfer_gallery, run_dir, finished, names, reverse=True, weights=state.weights),
            f"{state.run_id}: broken {word}"))
