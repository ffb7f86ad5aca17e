"""Reading named files straight out of a release `.tar.gz` (CIFAR-10's, CIFAR-100's), in memory, never
extracting: an archive is refused if a member path is absolute or climbs out (`..`), and a download cut off
midway is reported as incomplete, with its size, instead of as a corrupt file."""

from __future__ import annotations

import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cifar_tui.engine.errors import DataError


@dataclass(frozen=True)
class Release:
    """What an archive should be, for messages: its file name, its download address and (if known) size."""
    filename: str
    url: str
    size: int = 0  # bytes of the genuine archive; 0 when not stated


def read_members(archive: Path, required: tuple[str, ...], optional: tuple[str, ...],
                 release: Release) -> dict[str, bytes]:
    """{file name: bytes} of the members whose base names are `required` (DataError if one is missing) and
    those of `optional` that are there."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {}
            for member in tar.getmembers():
                parts = PurePosixPath(member.name).parts
                if member.name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise DataError(f"{archive}: refusing an archive with an unsafe member path {member.name!r}")
                if member.isfile():
                    members[PurePosixPath(member.name).name] = member
            contents = {}
            for name in (*required, *optional):
                if name not in members:
                    if name in optional:
                        continue
                    raise DataError(f"{archive}: missing {name}; is this {release.filename}?")
                handle = tar.extractfile(members[name])
                contents[name] = handle.read() if handle else b""
    except DataError:
        raise
    except (EOFError, zlib.error):  # gzip's "Compressed file ended before the end-of-stream marker"
        raise DataError(incomplete(archive, release)) from None
    except (tarfile.TarError, OSError) as exc:
        if "unexpected end of data" in str(exc) or "truncated" in str(exc):
            raise DataError(incomplete(archive, release)) from None
        raise DataError(f"{archive}: not a readable .tar.gz ({exc})") from None
    return contents


def incomplete(archive: Path, release: Release) -> str:
    size = archive.stat().st_size if archive.exists() else 0
    genuine = f"; the full {release.filename} is {release.size:,}" if release.size else ""
    return (f"{archive} is incomplete ({size:,} bytes{genuine}): the download was cut off; download it again "
            f"from {release.url}")
