"""The feature cache on disk: `<runs>/.cache/features/<key>/`, one folder per extraction key.

A key folder holds `meta.json` (what the features are features of: the backbone's weights digest, input
size, input scaling, precision, view, feature width) and shard files `shard-<sha256 of the file>.npz`, each
with `digests` (K,) image content digests (16-byte BLAKE2b of the uint8 image) and `features` (K, D)
float32. A run adds a shard for the images it had to extract; rows are found by image content, so any
subset or split of the same images reuses them, and a different image never matches.

Everything is checked before use (a stale or foreign cache is never used): the folder name is the digest of
`meta.json`'s key, which must equal the key asked for; a shard's name is the SHA-256 of its bytes; its
arrays must have the key's feature width and matching lengths. A shard that fails is removed (and its
images extracted again). Files are written atomically (`engine/store/atomic.py`).

No TensorFlow here: `cifar-tui cache list|clear` use this module alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cifar_tui.engine.store.atomic import atomic_write_bytes, atomic_write_json

CACHE_FOLDER = Path(".cache") / "features"
META_FILE = "meta.json"
CACHE_FORMAT = 1  # bump when the layout or the meaning of a key field changes


def cache_root(runs_dir: Path) -> Path:
    return Path(runs_dir) / CACHE_FOLDER


def key_digest(key: dict) -> str:
    """The folder name of a key: 20 hex digits of the SHA-256 of its canonical JSON."""
    text = json.dumps({"format": CACHE_FORMAT, **key}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def image_digests(x: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W, C) -> (N,) `S16` content digests (BLAKE2b-128 of each image's bytes)."""
    flat = np.ascontiguousarray(x).reshape(len(x), int(np.prod(x.shape[1:])))
    return np.array([hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat], dtype="S16")


@dataclass
class Shard:
    path: Path
    digests: np.ndarray  # (K,) S16
    features: np.ndarray  # (K, D) float32


class KeyFolder:
    """One key's folder: read its verified shards, add a shard. Raises nothing on a damaged file: drops it."""

    def __init__(self, root: Path, key: dict):
        self.key = dict(key)
        self.path = Path(root) / key_digest(key)
        self.refused: list[str] = []  # why files were refused (for the run's log)

    def load(self) -> list[Shard]:
        if not self.path.is_dir():
            return []
        try:
            meta = json.loads((self.path / META_FILE).read_text())
        except (OSError, ValueError):
            meta = None
        if not isinstance(meta, dict) or meta.get("key") != self.key or meta.get("format") != CACHE_FORMAT:
            self.refused.append(f"{self.path.name}: its meta.json does not describe these features")
            shutil.rmtree(self.path, ignore_errors=True)
            return []
        shards = []
        for file in sorted(self.path.glob("shard-*.npz")):
            shard = self._read(file)
            if shard is None:
                file.unlink(missing_ok=True)
            else:
                shards.append(shard)
        return shards

    def _read(self, file: Path) -> Shard | None:
        try:
            data = file.read_bytes()
            if hashlib.sha256(data).hexdigest()[:20] != file.stem.removeprefix("shard-"):
                raise ValueError("its content does not match its name (damaged)")
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                digests, features = arrays["digests"], arrays["features"]
            width = self.key.get("width")
            if (digests.dtype != np.dtype("S16") or features.ndim != 2 or len(digests) != len(features)
                    or (width is not None and features.shape[1] != width) or not np.isfinite(features).all()):
                raise ValueError(f"unexpected arrays {digests.dtype} {digests.shape} / {features.shape}")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            self.refused.append(f"{file.name}: {exc}")
            return None
        return Shard(file, digests, features.astype(np.float32, copy=False))

    def add(self, digests: np.ndarray, features: np.ndarray) -> Path:
        """Write one shard (atomically), creating the folder and its meta.json if needed."""
        self.path.mkdir(parents=True, exist_ok=True)
        if not (self.path / META_FILE).is_file():
            atomic_write_json(self.path / META_FILE, {"format": CACHE_FORMAT, "key": self.key,
                                                     "created": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                              time.gmtime())})
        buffer = io.BytesIO()
        np.savez(buffer, digests=np.asarray(digests, dtype="S16"), features=np.asarray(features, np.float32))
        data = buffer.getvalue()
        file = self.path / f"shard-{hashlib.sha256(data).hexdigest()[:20]}.npz"
        atomic_write_bytes(file, data)
        return file


def list_entries(runs_dir: Path) -> list[dict]:
    """One dict per key folder: key (or None when unreadable), images, megabytes, modified (epoch s)."""
    root = cache_root(runs_dir)
    out = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not folder.is_dir():
            continue
        try:
            meta = json.loads((folder / META_FILE).read_text())
            key = meta.get("key") if isinstance(meta, dict) else None
        except (OSError, ValueError):
            key = None
        files = [f for f in folder.iterdir() if f.is_file()]
        images = 0
        for shard in folder.glob("shard-*.npz"):
            try:
                with zipfile.ZipFile(shard) as z, z.open("digests.npy") as f:
                    major, _minor = np.lib.format.read_magic(f)
                    read_header = (np.lib.format.read_array_header_1_0 if major == 1
                                   else np.lib.format.read_array_header_2_0)
                    shape = read_header(f)[0]
                images += int(shape[0])
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                pass
        out.append({"id": folder.name, "key": key, "images": images,
                    "megabytes": sum(f.stat().st_size for f in files) / 1e6,
                    "modified": max((f.stat().st_mtime for f in files), default=folder.stat().st_mtime)})
    return out


def clear(runs_dir: Path, ids: list[str] | None = None) -> list[str]:
    """Remove every key folder (or those named in `ids`); returns the removed ids. Unknown ids: ValueError."""
    root = cache_root(runs_dir)
    present = {e["id"] for e in list_entries(runs_dir)}
    chosen = sorted(present) if not ids else ids
    unknown = [i for i in chosen if i not in present]
    if unknown:
        raise ValueError(f"no cached features with id {', '.join(unknown)} in {root}")
    for i in chosen:
        shutil.rmtree(root / i)
    return chosen
