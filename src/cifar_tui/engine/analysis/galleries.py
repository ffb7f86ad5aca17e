"""The error-analysis galleries of a recorded run, as data: which test images, in which order, with what
caption. The app draws them with half-block characters, the report as matplotlib PNG grids.

Every gallery reads `strategies/<name>/predictions.npz` (see `cifar_tui.engine.store.predictions`) and raises
`StoreError` (one line, "unavailable" for runs recorded before per-image predictions) when it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cifar_tui.engine.analysis.predictions import GalleryItem, fixed_by_transfer
from cifar_tui.engine.errors import StoreError
from cifar_tui.engine.store.predictions import read_predictions

PAGE = 96  # images per gallery: a screenful at 140x45 is 32; more scrolls


def images(count: int) -> str:
    """"1 image", "2 images"."""
    return f"{count:,} image{'' if count == 1 else 's'}"


@dataclass
class Gallery:
    title: str
    total: int  # images that belong to the gallery (the items may be fewer: at most PAGE)
    items: list[GalleryItem]
    class_names: list[str]
    notes: list[str] = field(default_factory=list)  # e.g. counts per class

    def caption(self, item: GalleryItem) -> tuple[str, str]:
        """Two lines: "true→predicted" and "p(predicted) (p(true))"."""
        names = self.class_names
        return (f"{names[item.true]}→{names[item.predicted]}",
                f"{100 * item.confidence:.0f}% (true {100 * item.true_probability:.0f}%)")


def cell_gallery(run_dir: Path, strategy: str, true: int, predicted: int, class_names: list[str],
                 limit: int = PAGE) -> Gallery:
    """The confusion-matrix cell (true, predicted) of `strategy`, most confident first."""
    recorded = read_predictions(run_dir, strategy)
    members = recorded.cell(true, predicted)
    kind = "right" if true == predicted else "mistakes"
    title = f"{strategy}: true {class_names[true]}, predicted {class_names[predicted]} ({kind}, most confident first)"
    return Gallery(title, len(members), recorded.items(members[:limit]), class_names)


def top_losses_gallery(run_dir: Path, strategy: str, class_names: list[str], limit: int = PAGE) -> Gallery:
    """The test images with the highest loss, -log p(true class), highest first."""
    recorded = read_predictions(run_dir, strategy)
    top = recorded.top_losses(min(limit, len(recorded)))
    wrong = int(recorded.wrong.sum())
    # total: every test image is ranked (the title read "96 images, all shown" with 283 wrong)
    return Gallery(f"{strategy}: top losses (highest -log p(true) first)", len(recorded), recorded.items(top),
                   class_names, notes=[f"{wrong} of {images(len(recorded)).replace('image', 'test image')} wrong"])


def transfer_word(weights: dict | None) -> str:
    """What the transfer strategies' difference from scratch is called: a random-init backbone (recorded
    `pretrained: false`) transfers nothing, so its gallery must not say "by transfer"."""
    return "by a random-init backbone, not transfer" if (weights or {}).get("pretrained") is False else "by transfer"


def transfer_gallery(run_dir: Path, strategies: list[str], class_names: list[str], reverse: bool = False,
                     limit: int = PAGE, weights: dict | None = None) -> Gallery:
    """Images scratch got wrong and the transfer strategy (finetune, else frozen) got right in the same run;
    `reverse`: the ones transfer broke. Notes: counts per true class, both ways. `weights`: the run's weights
    record (its title then says what a random-init backbone is: `transfer_word`)."""
    after = "finetune" if "finetune" in strategies else "frozen" if "frozen" in strategies else None
    if "scratch" not in strategies or after is None:
        raise StoreError("fixed by transfer needs scratch and finetune (or frozen) in the same run")
    before_set, after_set = read_predictions(run_dir, "scratch"), read_predictions(run_dir, after)
    try:
        result = fixed_by_transfer(before_set, after_set, len(class_names))
    except ValueError as exc:
        raise StoreError(f"fixed by transfer: {exc}") from None
    chosen = result.broken if reverse else result.fixed
    counts = result.broken_per_class if reverse else result.fixed_per_class
    verb = (f"scratch right, {after} wrong (captions: {after})" if reverse
            else f"scratch wrong, {after} right (captions: scratch)")
    # "class: images", so digits' classes read apart from their counts ("fixed per class: 0 1" did not)
    per_class = ", ".join(f"{name}: {n}" for name, n in zip(class_names, counts, strict=True) if n)
    notes = [f"fixed by {after}: {images(len(result.fixed))}; broken by {after}: {images(len(result.broken))}",
             f"images {'broken' if reverse else 'fixed'} per class: {per_class or 'none'}"]
    # captions and pixels from the strategy that got the image wrong: its mistake is the point, and only
    # mistakes' pixels are sure to be kept
    items = (after_set if reverse else before_set).items(chosen[:limit])
    return Gallery(f"{verb} ({'broken' if reverse else 'fixed'} {transfer_word(weights)})", len(chosen), items,
                   class_names, notes)
