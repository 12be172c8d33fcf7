"""Checking an archive against its pins before anything is extracted: the size first, then MD5 and SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

from _common import CHUNK, Archive, progress_bar


def digests(path: Path, progress: bool = True) -> dict:
    """{'size', 'md5', 'sha256'} of a file, read once."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as f, progress_bar(size, f"check {path.name}", progress) as bar:
        while chunk := f.read(CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
            bar.update(len(chunk))
    return {"size": size, "md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def mismatches(archive: Archive, path: Path, progress: bool = True) -> tuple[dict, list[str]]:
    """Check a file against the archive's pins: (what it is, ['md5: expected X, got Y', ...]).

    The size is compared first; a file of the wrong size is not hashed.
    """
    pins = archive.pins()
    size = path.stat().st_size
    if "size" in pins and size != pins["size"]:
        return {"size": size}, [f"size: expected {pins['size']:,} bytes, got {size:,}"]
    actual = digests(path, progress)
    wrong = [f"{key}: expected {pins[key]}, got {actual[key]}" for key in ("md5", "sha256")
             if key in pins and actual[key] != pins[key]]
    return actual, wrong
