"""A user's files are never deleted or changed: cached weights and CIFAR-10 archives that do not match Keras'
release are refused in one line (checked by checksum before and after), downloads are verified and never
replace a file, and download progress goes to stderr so `run --json` keeps stdout pure JSON."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from cifar_writers import tiny_cifar, write_tar_gz

from cifar_tui.engine.runtime.download import DownloadFailed, download

QUICK = ["--train-per-class", "6", "--test-limit", "20", "--image-size", "32", "--epochs", "1", "--batch-size",
         "16", "--eager", "--plain"]


def cifar_tui(*args, keras_home, prelude: str = ""):
    """The real console entry point in a subprocess, with its own Keras home."""
    code = prelude + "import sys; from cifar_tui.cli.main import main; main(sys.argv[1:])"
    env = {**__import__("os").environ, "KERAS_HOME": str(keras_home)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env=env)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def damaged(kind: str) -> bytes:
    rng = np.random.default_rng(0)
    if kind == "cut at 200 KB":
        return b"\x89HDF\r\n\x1a\n" + rng.bytes(200 * 1024 - 8)
    if kind == "an HTML error page":
        return b"<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>\n"
    return b"\x89HDF\r\n\x1a\n" + rng.bytes(16_000_000)  # complete in size, different bytes


@pytest.mark.parametrize("kind", ["cut at 200 KB", "an HTML error page", "different bytes"])
def test_a_cached_weights_file_that_is_not_the_release_is_refused_and_kept(tmp_path, kind):
    cached = tmp_path / "keras" / "models" / "efficientnetb0_notop.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(damaged(kind))
    before = sha(cached)
    runs = tmp_path / "runs"
    result = cifar_tui("run", "--dataset", "digits", "--strategies", "frozen", "--runs-dir", str(runs), *QUICK,
                       keras_home=tmp_path / "keras")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert f"{cached} does not match Keras' release checksum" in result.stderr
    assert "delete it to download it again" in result.stderr and "--weights PATH" in result.stderr
    assert cached.exists() and sha(cached) == before  # the user's file, untouched
    assert not runs.exists() and result.stdout == ""  # nothing written, nothing on stdout


def test_a_cached_cifar_archive_that_is_not_the_release_is_refused_and_kept(tmp_path):
    archive = tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target_archive"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(damaged("cut at 200 KB"))
    before = sha(archive)
    result = cifar_tui("run", "--strategies", "scratch", "--runs-dir", str(tmp_path / "runs"), *QUICK,
                       keras_home=tmp_path / "keras")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"{archive} does not match Keras' release checksum" in result.stderr
    assert sha(archive) == before and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_download_progress_goes_to_stderr_and_json_stays_alone_on_stdout(tmp_path):
    """CIFAR-10 downloaded (from a file:// URL standing in for the release) into an empty Keras cache."""
    source = write_tar_gz(tmp_path / "cifar-10-python.tar.gz", tiny_cifar(tmp_path / "data"))
    prelude = (f"import cifar_tui.engine.data.sources as s; s.CIFAR10_URL = {source.as_uri()!r}; "
               f"s.CIFAR10_SHA256 = {sha(source)!r}; ")
    result = cifar_tui("run", "--strategies", "scratch", "--weights", "none", "--json",
                       "--runs-dir", str(tmp_path / "runs"), *QUICK, keras_home=tmp_path / "keras", prelude=prelude)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)  # stdout is the JSON alone
    assert summary["status"] == "finished"
    assert f"downloading {source.as_uri()}" in result.stderr and "checksum verified" in result.stderr
    cached = tmp_path / "keras" / "datasets" / "cifar-10-batches-py-target_archive"
    assert sha(cached) == sha(source)  # where Keras 3 keeps it, so Keras finds it too


def test_download_is_verified_and_never_replaces_a_file(tmp_path):
    source = tmp_path / "release.bin"
    source.write_bytes(b"x" * 3_000_000)
    good = hashlib.md5(source.read_bytes()).hexdigest()
    lines: list[str] = []
    target = tmp_path / "cache" / "release.bin"
    with pytest.raises(DownloadFailed, match="does not match its release checksum"):
        download(source.as_uri(), target, "0" * 32, "md5", lines.append)
    assert list((tmp_path / "cache").iterdir()) == []  # no target, no partial file
    assert download(source.as_uri(), target, good, "md5", lines.append) == target
    assert target.read_bytes() == source.read_bytes() and any("checksum verified" in line for line in lines)
    target.write_bytes(b"the user's own file")
    with pytest.raises(DownloadFailed, match="left as it is"):
        download(source.as_uri(), target, good, "md5")
    assert target.read_bytes() == b"the user's own file"
    with pytest.raises(DownloadFailed):
        download((tmp_path / "missing").as_uri(), tmp_path / "cache" / "other", good, "md5")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["release.bin"]
