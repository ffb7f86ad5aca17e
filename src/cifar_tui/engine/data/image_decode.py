"""Decoding an image folder (engine/data/image_folder.py) into the arrays every model takes: uint8
(N, 32, 32, 3), and its content digest.

Each file is read once: its bytes feed the digest and Pillow. An image is turned upright by its EXIF
orientation (as photo viewers show it), converted to RGB (grayscale copied to the three channels, 16-bit
grayscale scaled to 8 bits, alpha dropped as Keras' `load_img` does), cropped to its central square (the
aspect ratio is kept, as in ImageNet evaluation) and resized to 32x32 with Lanczos filtering (antialiased:
a large photo is averaged down, not sampled). 32 px is the native size every data set reaches the
models at, so that a comparison across data sets varies the domain and not the resolution; the strategies
then resize to their input size as for CIFAR. JPEGs are decoded at a reduced scale first when they are
far larger (libjpeg's DCT scaling), which keeps a folder of large photos fast to read.

The digest is SHA-256 over each image's path relative to the folder, its split, its class and the
SHA-256 of its bytes, in listing order: two runs with the same digest read the same files with the same
labels and split. A file Pillow cannot read (not an image, truncated, a decompression bomb) is refused
with the others like it, in one line; nothing is skipped silently and nothing is written.
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from cifar_tui.engine.data.image_folder import FolderListing, list_folder
from cifar_tui.engine.data.sources import RawDataset
from cifar_tui.engine.errors import DataError

SIZE = 32
CONVERSION = "central square crop, resized to 32x32 (Lanczos), RGB (gray copied to 3 channels)"


def decode(data: bytes) -> tuple[np.ndarray, str]:
    """One image file's bytes -> (uint8 (32, 32, 3), its original mode). Raises what Pillow raises."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        mode = opened.mode
        if opened.format == "JPEG":
            opened.draft("RGB", (2 * SIZE, 2 * SIZE))  # decode at 1/2..1/8 scale, never below 64 px
        image = ImageOps.exif_transpose(opened)
        image.load()
    if image.mode.startswith("I;16"):  # 16-bit grayscale: the top 8 bits (Pillow's convert would clip)
        image = Image.fromarray((np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8))
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.resize((SIZE, SIZE), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))
    return np.asarray(image, dtype=np.uint8), mode


def _read_one(path: Path) -> tuple[np.ndarray | None, str, str, str]:
    """(pixels or None, mode, sha256 of the bytes, error text)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, "", "", f"cannot read ({exc.strerror})"
    digest = hashlib.sha256(data).hexdigest()
    try:
        pixels, mode = decode(data)
    except Exception as exc:  # UnidentifiedImageError, truncated data, DecompressionBombError, ...
        return None, "", digest, (str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__)
    return pixels, mode, digest, ""


def read_image_folder(data_dir: str | Path, threads: int | None = None) -> RawDataset:
    """Read the folder (see engine/data/image_folder.py) into a RawDataset named `folder:<its name>`."""
    listing = list_folder(data_dir)
    files = [path for path, _label in listing.train + listing.test]
    workers = threads or min(8, os.cpu_count() or 1)  # Pillow decodes without the GIL
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_read_one, files))
    failed = [(path, error) for path, (pixels, _m, _d, error) in zip(files, results, strict=True) if pixels is None]
    if failed:
        shown = "; ".join(f"{path.relative_to(listing.root)} ({error})" for path, error in failed[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise DataError(f"{listing.root}: {len(failed)} file(s) are not readable images: {shown}{more}; remove or "
                        "repair them (nothing was changed)")
    pixels = np.stack([r[0] for r in results]) if results else np.zeros((0, SIZE, SIZE, 3), np.uint8)
    n_train = len(listing.train)
    modes: dict[str, int] = {}
    for _p, mode, _d, _e in results:
        modes[mode] = modes.get(mode, 0) + 1
    return RawDataset(
        name=f"folder:{listing.root.name}", source=f"{listing.root} (image folder, test set {listing.test_set})",
        class_names=list(listing.class_names), x_train=pixels[:n_train], y_train=listing.train_labels(),
        x_test=pixels[n_train:], y_test=np.array([label for _p, label in listing.test], dtype=np.int64),
        # Unknown content: no mirroring (text, a body's left and right); --augment flip+translate if it keeps classes.
        augmentation="translate", details=_details(listing, [r[2] for r in results], modes))


def _details(listing: FolderListing, digests: list[str], modes: dict[str, int]) -> dict:
    h = hashlib.sha256()
    entries = [("train", p, label) for p, label in listing.train] + [("test", p, label) for p, label in listing.test]
    for (split, path, label), digest in zip(entries, digests, strict=True):
        relative = path.relative_to(listing.root).as_posix()
        h.update(f"{split}\0{relative}\0{listing.class_names[label]}\0{digest}\n".encode("utf-8", "surrogateescape"))
    return {"folder": str(listing.root), "test_set": listing.test_set, "conversion": CONVERSION,
            "digest": "sha256:" + h.hexdigest(), "train_per_class": listing.counts("train"),
            "test_per_class": listing.counts("test"), "modes": modes, "ignored_files": len(listing.ignored),
            "notes": list(listing.notes)}
