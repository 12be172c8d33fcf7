"""What every data script shares: the error type, the :class:`Archive` record, sizes in words, disk
space, progress bars, SHA-256 of a file and atomic writes.

Only the standard library and tqdm: the scripts run before colorlab (and torch) is installed, so they
keep their own :func:`write_text` rather than import ``colorlab.files``.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

CHUNK = 1 << 20          # bytes per read and write
# As colorlab.data.IMAGE_EXTENSIONS (not imported: that would import torch).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class DownloadError(Exception):
    """A download, check or extraction failed; the message says what and what to do about it."""


class NoSpace(DownloadError):
    """Not enough free disk space: the archive itself is fine."""


@dataclass(frozen=True)
class Archive:
    """One archive: where it comes from and what it must be.

    filename : the archive's file name, also the name it gets in ``dest``
    url : the default download URL (None: only ``--url`` or ``--archive`` can provide it)
    size, md5, sha256 : the pinned values (None: not checked)
    title : one line for messages and ``--list``
    approx_size : a rough size for display only, when ``size`` is not pinned
    photos : how many photos the archive holds (a count that differs is reported, not fatal)
    required : ((relative path, size or None), ...) files extraction must produce (checked before moving
        anything into ``dest``, and again by the no-op check of a second run)
    hash_files : keep the SHA-256 of every extracted file in the stamp (for a handful of large files)
    note : shown by ``--list``
    """

    filename: str
    url: str | None
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    title: str = ""
    approx_size: int | None = None
    photos: int | None = None
    required: tuple = ()
    hash_files: bool = False
    note: str = ""

    def __post_init__(self):
        # the name becomes a path inside dest (the archive, its .part, its stamp): a plain base name only
        name = self.filename
        if (not isinstance(name, str) or name in ("", ".", "..") or name != Path(name).name or "/" in name
                or "\\" in name or "\0" in name or name.startswith(".")):
            raise DownloadError(f"{name!r} is not a plain file name for an archive (no folders, no leading dot).")

    def pins(self) -> dict:
        """The pinned values, e.g. ``{"size": 170052171, "md5": "c32a..."}``."""
        pins = {"size": self.size, "md5": self.md5 and self.md5.lower(), "sha256": self.sha256 and self.sha256.lower()}
        return {k: v for k, v in pins.items() if v is not None}


def is_photo(rel: str) -> bool:
    """Whether a relative POSIX path names a photo: an image extension, no hidden part."""
    name = rel.rsplit("/", 1)[-1]
    return name.lower().endswith(IMAGE_EXTENSIONS) and not any(p.startswith(".") for p in rel.split("/"))


def human(n: int | None) -> str:
    """170052171 -> '170.1 MB' (decimal units, as the publishers give them)."""
    if n is None:
        return "unknown size"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def describe_size(archive: Archive) -> str:
    """The archive's size for messages: pinned, approximate or unknown."""
    if archive.size is not None:
        return f"{archive.size:,} bytes ({human(archive.size)})"
    if archive.approx_size is not None:
        return f"about {human(archive.approx_size)} (size not pinned)"
    return "size not pinned"


def hint() -> str:
    """The way out when the default URL fails: a mirror, or a copy obtained another way."""
    return ("Use a mirror with --url URL, or download the archive another way (a browser, another machine) "
            "and pass it with --archive PATH.")


def os_error(err: OSError, what: str, where: Path) -> DownloadError:
    """An OSError while ``what`` (in ``where``) as a DownloadError that says what to do: full disk, no permission."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(f"the disk is full while {what} ({where}): {err.strerror}. Free some space or choose "
                             f"another folder with --dest, then run the same command again.")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DownloadError(f"no permission while {what} ({where}): {err.strerror}. Choose a folder you can "
                             f"write to with --dest.")
    return DownloadError(f"{what} failed ({where}): {err}.")


def describe_exc(err: BaseException) -> str:
    """An exception in a few words for a message ('the connection closed early', 'TimeoutError: ...')."""
    if isinstance(err, http.client.IncompleteRead):
        return "the connection closed early"
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if text != type(err).__name__ else text


def free_bytes(path: Path) -> int:
    """Free space on the file system holding ``path`` (a function so that tests can replace it)."""
    return shutil.disk_usage(path).free


def need_space(needed: int, folder: Path, what: str) -> None:
    """Raise :class:`NoSpace` when ``folder``'s file system has less than ``needed`` bytes free for ``what``."""
    free = free_bytes(folder)
    if needed > free:
        raise NoSpace(f"not enough free disk space in {folder} for {what}: {human(needed)} needed, "
                      f"{human(free)} free. Free some space or choose another folder with --dest.")


def progress_bar(total: int | None, desc: str, progress: bool, initial: int = 0) -> tqdm:
    """A byte counter on stderr (disabled unless ``progress``), in binary units, at most two updates a second."""
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
                desc=desc, file=sys.stderr, mininterval=0.5, dynamic_ncols=True)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, as 64 lowercase hex digits, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: to ``.<name>.<pid>.tmp`` beside it, then renamed over it,
    so a crash leaves the old file or the new one, never half of one (as colorlab.files.write_text does)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
