"""Downloads that never touch a file the user already has.

Keras' `get_file` re-downloads over a cached file whose checksum does not match, and removes its target
when that download fails (offline, say): a user's damaged-but-precious or deliberately different file is
gone. It also prints "Downloading data from ..." to stdout, which breaks `run --json > summary.json`.
Here a download goes to a temporary file beside the target, is verified, and is linked into place only
if nothing is there; progress goes to a callback (stderr in the CLI, the log panel in the app). A cached
file is checked, never replaced: a mismatch is the caller's one-line refusal.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 20
REPORT_EVERY_S = 2.0
TIMEOUT_S = 30  # per network read: never hang on a network that drops packets


class DownloadFailed(Exception):
    """The download did not complete or did not verify; nothing was written at the target."""


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def matches(path: Path, checksum: str, algorithm: str) -> bool:
    """Whether the file's digest is `checksum` (hex, lower case)."""
    return file_digest(path, algorithm) == checksum.lower()


def download(url: str, target: Path, checksum: str, algorithm: str,
             report: Callable[[str], None] = lambda _text: None) -> Path:
    """Fetch `url` into `target` (which must not exist yet), verified against `checksum`.

    Raises DownloadFailed (network, HTTP, checksum or disk error) with the target untouched: the bytes go to
    a hidden temporary file in the same folder that is removed on any failure.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.new(algorithm)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0)
            report(f"downloading {url} ({total / 1e6:.0f} MB) to {target}" if total else
                   f"downloading {url} to {target}")
            done, last = 0, time.monotonic()
            while block := response.read(CHUNK):
                out.write(block)
                digest.update(block)
                done += len(block)
                if time.monotonic() - last >= REPORT_EVERY_S:
                    last = time.monotonic()
                    share = f" ({100 * done / total:.0f}%)" if total else ""
                    report(f"downloaded {done / 1e6:.0f} MB{share} of {target.name}")
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != checksum.lower():
            raise DownloadFailed(f"the download of {url} does not match its release checksum "
                                 f"({algorithm} {checksum})")
        try:
            os.link(tmp, target)  # fails if a file appeared there meanwhile: never replace one
        except FileExistsError:
            raise DownloadFailed(f"{target} appeared while downloading; it was left as it is") from None
        except OSError:  # a file system without hard links
            if target.exists():
                raise DownloadFailed(f"{target} appeared while downloading; it was left as it is") from None
            os.replace(tmp, target)
        report(f"downloaded {target} ({done / 1e6:.0f} MB, checksum verified)")
        return target
    except DownloadFailed:
        raise
    except Exception as exc:  # URLError, HTTPError, timeouts, a full disk
        reason = str(getattr(exc, "reason", "") or exc).splitlines()[0][:200] or type(exc).__name__
        raise DownloadFailed(reason) from None
    finally:
        tmp.unlink(missing_ok=True)
