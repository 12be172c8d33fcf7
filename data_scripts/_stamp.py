"""The stamp that makes a second run a no-op: ``<dest>/.<name>.verified.json``.

After a successful extraction it records the archive's checksums and lists every extracted file with its
size (and its SHA-256 for the few files of CIFAR-10). When the stamp matches the pinned archive and every
listed file is still there with its size, nothing is read or downloaded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from _common import Archive, sha256_file, write_text


def stamp_path(dest: Path, archive: Archive) -> Path:
    """Where the stamp of ``archive`` extracted into ``dest`` lives."""
    return dest / f".{archive.filename}.verified.json"


def stamped_files(dest: Path, archive: Archive) -> tuple[dict | None, str]:
    """({relative path: size}, '') when the extracted files are there as the stamp says; else (None, why not)."""
    path = stamp_path(dest, archive)
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "not extracted yet"
    except (OSError, ValueError):
        return None, f"{path.name} is unreadable"
    if not (isinstance(stamp, dict) and stamp.get("archive") == archive.filename
            and isinstance(stamp.get("files"), dict)):
        return None, f"{path.name} is not a stamp of {archive.filename}"
    for key, value in archive.pins().items():
        if stamp.get(key) != value:
            return None, f"{path.name} records another archive ({key} {stamp.get(key)}, expected {value})"
    try:
        files = {rel: int(info[0]) for rel, info in stamp["files"].items()}
    except (TypeError, ValueError, IndexError, KeyError):
        return None, f"{path.name} is damaged"
    for rel, size in archive.required:
        if rel not in files or (size is not None and files[rel] != size):
            return None, f"{path.name} does not list {rel} with the expected size"
    for rel, size in files.items():
        try:
            found = (dest / rel).stat().st_size
        except OSError:
            return None, f"{rel} is missing"
        if found != size:
            return None, f"{rel} has {found:,} bytes, not {size:,}"
    return files, ""


def file_list(folder: Path, rels: list[str], with_hashes: bool) -> dict:
    """A stamp's list of files: {relative path: [size]} of the files ``rels`` of ``folder``, or
    {relative path: [size, SHA-256]} ``with_hashes``."""
    return {rel: [(folder / rel).stat().st_size, *([sha256_file(folder / rel)] if with_hashes else [])]
            for rel in rels}


def write_stamp(dest: Path, archive: Archive, identity: dict, source: str, files: dict) -> None:
    """Write the stamp atomically: the archive's name, its ``identity`` (size, md5, sha256), where it came from,
    and ``files`` (from :func:`file_list`)."""
    stamp = {"archive": archive.filename, **identity, "source": source,
             "extracted": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files}
    write_text(stamp_path(dest, archive), json.dumps(stamp, indent=None if len(files) > 50 else 1) + "\n")
