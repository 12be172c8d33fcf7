"""Make a folder hold an extracted archive, downloading it only when needed: the job of ``get_cifar10.py``
and ``get_photos.py``, composed of the verbs of ``_download``, ``_verify``, ``_extract`` and ``_stamp``.

Only the standard library and tqdm. What :func:`ensure` guarantees:

* **Resumable.** A broken download is resumed within the run and by the next one (:mod:`_download`).
* **Verified before anything is extracted.** The size, then the pinned MD5 / SHA-256, are checked
  (:mod:`_verify`). A download that does not match is deleted and the error says what was expected and
  what came; a file given with ``--archive`` is checked the same way but never deleted. Only a verified
  ``.part`` is renamed to ``<dest>/<name>``.
* **Safe extraction**: every member is checked before the first byte is written (:mod:`_extract`).
* **Atomic.** Extraction goes to ``<dest>/.<name>.extracting``, is checked (``Archive.required``), and only
  then moved into ``<dest>`` file by file. A crash at any point loses nothing: the next run starts from the
  last finished step.
* **A second run is a no-op** (:mod:`_stamp`).
* **Clear errors** (:class:`DownloadError`): each says what went wrong and what to do (re-run, ``--url``
  for a mirror, ``--archive`` for a file you already have, free disk space, ...).
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from _common import Archive, DownloadError, describe_size, is_photo, os_error
from _download import download
from _extract import BadArchive, Unsafe, check_required, extract, files_in, move_into
from _stamp import file_list, stamp_path, stamped_files, write_stamp
from _verify import mismatches


@dataclass
class Result:
    """What :func:`ensure` did and where the data is."""

    dest: Path                                          # absolute
    files: dict = field(default_factory=dict)           # relative path -> size in bytes
    downloaded: bool = False                            # bytes came over the network in this run
    already_there: bool = False                         # the no-op case: nothing was done

    @property
    def folders(self) -> list[str]:
        """The top-level folders the archive holds, sorted."""
        return sorted({rel.split("/", 1)[0] for rel in self.files if "/" in rel})

    def photo_count(self, folder: str | None = None) -> int:
        """How many photos the archive held, in all or below the top-level ``folder``."""
        prefix = f"{folder}/" if folder else ""
        return sum(1 for rel in self.files if rel.startswith(prefix) and is_photo(rel))


@dataclass
class Verified:
    """An archive file that matches its pins, and how it came."""

    path: Path
    identity: dict      # its size, md5 and sha256 (only the size when that was wrong)
    source: str         # the URL or the absolute path it came from
    ours: bool          # downloaded by us into dest, so ours to delete; False for --archive
    downloaded: bool    # bytes came over the network in this run


def ensure(archive: Archive, dest, *, url: str | None = None, local: str | os.PathLike | None = None,
           force: bool = False, keep_archive: bool = False, retries: int = 3, progress: bool = True,
           log=print) -> Result:
    """Make ``dest`` hold the extracted ``archive``, downloading it only when needed.

    url : a mirror to download from instead of ``archive.url``
    local : an archive file already on disk (``--archive``): checked, extracted, never moved or deleted
    force : extract again even when the stamp says everything is there
    keep_archive : keep ``dest/<filename>`` after extraction (by default a downloaded archive is deleted
        once its files are in place; the stamp remembers its checksums)
    retries : how many times a broken download is resumed within this run

    Returns a :class:`Result`; raises :class:`DownloadError` with a message for the user.
    """
    dest = _destination(dest, local)
    if not force:
        files, why = stamped_files(dest, archive)
        if files is not None:
            return Result(dest, files, already_there=True)
        if why != "not extracted yet":
            log(f"{archive.filename}: {why}; getting it again.")
    staging = dest / f".{archive.filename}.extracting"
    try:
        if staging.exists():
            shutil.rmtree(staging)
        got = (verified_local(archive, Path(local).expanduser(), progress) if local is not None
               else verified_download(archive, dest, url or archive.url, retries, progress, log))
        _say_verified(archive, got, dest, log)
        files = _extract_into(archive, got, staging, dest, progress)
        write_stamp(dest, archive, {k: got.identity[k] for k in ("size", "md5", "sha256") if k in got.identity},
                    got.source, files)
        if got.ours and not keep_archive:
            got.path.unlink()
            log(f"removed {got.path} (its checksums are in {stamp_path(dest, archive).name}; --keep-archive keeps it)")
    except OSError as err:
        raise os_error(err, "reading or writing the data", dest) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return Result(dest, {rel: info[0] for rel, info in files.items()}, downloaded=got.downloaded)


def _destination(dest, local) -> Path:
    """``dest`` as an absolute folder that exists, once ``local`` (when given) is known to be a file."""
    dest = Path(dest).expanduser().absolute()
    if local is not None and not Path(local).expanduser().is_file():
        raise DownloadError(f"--archive {local}: no such file.")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise os_error(err, "creating the destination folder", dest) from None
    if not dest.is_dir():
        raise DownloadError(f"--dest {dest} is not a folder.")
    return dest


def verified_local(archive: Archive, path: Path, progress: bool) -> Verified:
    """The archive file given with ``--archive``, checked against the pins; it is never moved or deleted."""
    identity, wrong = mismatches(archive, path, progress)
    if wrong:
        raise DownloadError(f"--archive {path} is not the expected {archive.filename}: {'; '.join(wrong)}. "
                            f"The file was left where it is. Check that it is the right file and complete, "
                            f"or run without --archive to download it.")
    return Verified(path, identity, str(path.absolute()), ours=False, downloaded=False)


def verified_download(archive: Archive, dest: Path, source: str | None, retries: int, progress: bool,
                      log) -> Verified:
    """``dest/<filename>``, verified: the one a stopped run left there, else downloaded (resuming a .part)."""
    if not source:
        raise DownloadError(f"{archive.filename} has no download URL: pass --url URL or --archive PATH.")
    if urllib.parse.urlsplit(source).scheme.lower() not in ("http", "https"):
        raise DownloadError(f"--url {source}: expected an http:// or https:// URL. For a file on this "
                            f"machine use --archive PATH.")
    final, part = dest / archive.filename, dest / f".{archive.filename}.part"
    if final.is_file():  # verified earlier, then the run stopped before the end; or put there by hand
        identity, wrong = mismatches(archive, final, progress)
        if not wrong:
            return Verified(final, identity, source, ours=True, downloaded=False)
        if archive.size is not None and final.stat().st_size < archive.size and not part.exists():
            log(f"{final.name} is incomplete ({final.stat().st_size:,} of {archive.size:,} bytes): resuming it.")
            os.replace(final, part)
        else:
            log(f"{final} is not the expected archive ({'; '.join(wrong)}): removed, downloading it again.")
            final.unlink()
    log(f"downloading {source}\n  to {part} ({describe_size(archive)})")
    download(source, part, archive.size, retries=retries, progress=progress, log=log)
    identity, wrong = mismatches(archive, part, progress)
    if wrong:
        part.unlink()
        raise DownloadError(
            f"the download of {source} is not the expected {archive.filename}: {'; '.join(wrong)}. "
            f"The downloaded file was removed. Run the same command again to download it again, or "
            f"pass --archive PATH with a copy you trust (or --url URL for another mirror).")
    os.replace(part, final)
    return Verified(final, identity, source, ours=True, downloaded=True)


def _say_verified(archive: Archive, got: Verified, dest: Path, log) -> None:
    if not archive.pins():
        sha256 = got.identity["sha256"]
        log(f"note: nothing pinned for {archive.filename}, so only its completeness could be checked. Its "
            f"SHA-256 is {sha256}: pass --sha256 {sha256} to pin it next time.")
    log(f"{archive.filename} verified ({', '.join(f'{k} {v}' for k, v in archive.pins().items()) or 'unpinned'}); "
        f"extracting into {dest}")


def _extract_into(archive: Archive, got: Verified, staging: Path, dest: Path, progress: bool) -> dict:
    """Extract into ``staging``, check it, move it into ``dest``; returns the stamp's file list. An archive
    that is unsafe or not the expected one is removed when it is ours, and nothing reaches ``dest``."""
    staging.mkdir()
    try:
        extract(got.path, staging, progress)
        check_required(staging, archive, str(got.path))
    except (Unsafe, BadArchive) as err:
        removed = ""
        if got.ours:
            got.path.unlink()
            removed = " The downloaded archive was removed: it is not the one this script expects."
        if isinstance(err, Unsafe):
            err = f"refusing to extract {got.path.name}: {err}. Nothing was extracted"
        raise DownloadError(f"{str(err).rstrip('.')}.{removed} Use the official archive (the default URL, "
                            f"or --archive with a trusted copy).") from None
    rels = files_in(staging)
    files = file_list(staging, rels, archive.hash_files)
    move_into(staging, dest, rels)
    shutil.rmtree(staging)
    return files
