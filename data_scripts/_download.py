"""Download, verify and safely extract one data archive: the logic shared by ``get_cifar10.py`` and ``get_photos.py``.

Only the standard library and tqdm. What :func:`ensure` guarantees:

* **Resumable.** The download goes to ``<dest>/.<name>.part``. A broken connection is retried (``retries``
  times, resuming with an HTTP ``Range`` request); if it still fails the partial file is kept and the next
  run resumes it. A server that ignores ``Range`` gets a fresh download; a partial file longer than the
  archive is discarded.
* **Verified before anything is extracted.** The size, then the pinned MD5 / SHA-256, are checked. A
  download that does not match is deleted and the error says what was expected and what came; a file
  given with ``--archive`` is checked the same way but never deleted. Only a verified ``.part`` is renamed
  to ``<dest>/<name>``.
* **Safe extraction** of .zip, .tar, .tar.gz/.tgz, .tar.bz2 and .tar.xz. Every member is checked *before*
  the first byte is written: absolute paths, ``..`` components, links (symbolic or hard: the data archives
  have none, and a link can redirect later members outside the destination), device files, FIFOs and
  encrypted zip members are refused. Tar archives are then extracted with tarfile's ``data`` filter where
  this Python has it (3.10.12+, 3.11.4+, 3.12+), else member by member by this module, file contents only.
* **Atomic.** Extraction goes to ``<dest>/.<name>.extracting``, is checked (``Archive.required``), and only
  then moved into ``<dest>`` file by file with ``os.replace``; files of ``<dest>`` that the archive does not
  hold are left alone. A crash at any point loses nothing: the next run starts from the last finished step.
* **A second run is a no-op.** After a successful extraction ``<dest>/.<name>.verified.json`` lists every
  extracted file with its size (and its SHA-256 for the few files of CIFAR-10). When the stamp matches the
  pinned archive and every listed file is still there with its size, nothing is read or downloaded.
* **Clear errors** (:class:`DownloadError`): each says what went wrong and what to do (re-run, ``--url``
  for a mirror, ``--archive`` for a file you already have, free disk space, ...).
"""

from __future__ import annotations

import argparse
import copy
import errno
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import stat
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

USER_AGENT = "colorlab-data-scripts/1.0 (python urllib)"
CHUNK = 1 << 20          # bytes per read and write
TIMEOUT_S = 60           # socket timeout: a stalled connection counts as broken after this long
RETRY_WAIT_S = 2.0       # first wait before resuming a broken download; doubles each time
HAS_DATA_FILTER = hasattr(tarfile, "data_filter")
# As colorlab.data.IMAGE_EXTENSIONS (not imported: that would import torch).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class DownloadError(Exception):
    """A download, check or extraction failed; the message says what and what to do about it."""


class _NoSpace(DownloadError):
    """Not enough free disk space: the archive itself is fine."""


class _BadArchive(DownloadError):
    """A verified archive that cannot be extracted or does not hold what it should."""


class _Broken(Exception):
    """A transient failure of one download attempt (connection lost, timeout, 5xx): worth resuming."""


class _Unsafe(Exception):
    """An archive member that must not be extracted."""


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
        prefix = f"{folder}/" if folder else ""
        return sum(1 for rel in self.files if rel.startswith(prefix) and is_photo(rel))


def is_photo(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.lower().endswith(IMAGE_EXTENSIONS) and not any(p.startswith(".") for p in rel.split("/"))


# ------------------------------------------------------------------------ text


def human(n: int | None) -> str:
    """170052171 -> '170.1 MB' (decimal units, as the publishers give them)."""
    if n is None:
        return "unknown size"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def describe_size(archive: Archive) -> str:
    if archive.size is not None:
        return f"{archive.size:,} bytes ({human(archive.size)})"
    if archive.approx_size is not None:
        return f"about {human(archive.approx_size)} (size not pinned)"
    return "size not pinned"


def _hint(local_ok: bool = True) -> str:
    return ("Use a mirror with --url URL, or download the archive another way (a browser, another machine) "
            "and pass it with --archive PATH." if local_ok else "")


def _os_error(err: OSError, what: str, where: Path) -> DownloadError:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(f"the disk is full while {what} ({where}): {err.strerror}. Free some space or choose "
                             f"another folder with --dest, then run the same command again.")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DownloadError(f"no permission while {what} ({where}): {err.strerror}. Choose a folder you can "
                             f"write to with --dest.")
    return DownloadError(f"{what} failed ({where}): {err}.")


def free_bytes(path: Path) -> int:
    """Free space on the file system holding ``path`` (a function so that tests can replace it)."""
    return shutil.disk_usage(path).free


def _need_space(needed: int, folder: Path, what: str) -> None:
    free = free_bytes(folder)
    if needed > free:
        raise _NoSpace(f"not enough free disk space in {folder} for {what}: {human(needed)} needed, "
                            f"{human(free)} free. Free some space or choose another folder with --dest.")


# ------------------------------------------------------------------ download


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """'bytes 100-199/200' -> (100, 200); 'bytes */200' -> (None, 200)."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total != "*" else None)


def _describe_exc(err: BaseException) -> str:
    if isinstance(err, http.client.IncompleteRead):
        return "the connection closed early"
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if text != type(err).__name__ else text


def _shown(part: Path) -> str:
    """'.x.tar.gz.part' -> 'x.tar.gz'."""
    return part.name[1:-len(".part")] if part.name.startswith(".") and part.name.endswith(".part") else part.name


def _download_once(url: str, part: Path, expected: int | None, progress: bool, log, _restarted: bool = False):
    have = part.stat().st_size if part.exists() else 0
    if expected is not None and have > expected:
        log(f"{part.name} is longer than the expected {expected:,} bytes: starting the download again.")
        part.unlink()
        have = 0
    if expected is not None and have == expected:
        return  # complete: the checksum decides
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and have:
            _, total = _content_range(err.headers.get("Content-Range"))
            if total == have:
                return  # the partial file is already the whole file: the checksum decides
            if _restarted:
                raise DownloadError(f"{url} refused the download (HTTP 416). {_hint()}") from None
            log(f"{url} cannot continue {part.name} (HTTP 416): starting the download again.")
            part.unlink()
            return _download_once(url, part, expected, progress, log, _restarted=True)
        if err.code >= 500:
            raise _Broken(f"the server answered HTTP {err.code} {err.reason}") from None
        raise DownloadError(f"{url} answered HTTP {err.code} {err.reason}. Check the URL. {_hint()}") from None
    except urllib.error.URLError as err:
        raise DownloadError(f"could not reach {url} ({err.reason}). Is this machine online? Behind a proxy, set "
                            f"the https_proxy / http_proxy environment variables. {_hint()}") from None
    except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as err:
        raise _Broken(_describe_exc(err)) from None

    with response:
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != have:
                if _restarted:
                    raise DownloadError(f"{url} answers range requests wrongly (asked from byte {have:,}, got "
                                        f"{start}). {_hint()}")
                log(f"{url} resumed at the wrong place: starting the download again.")
                part.unlink()
                return _download_once(url, part, expected, progress, log, _restarted=True)
            mode = "ab"
        elif response.status == 200:
            if have:
                log(f"{urllib.parse.urlsplit(url).netloc} does not resume downloads: starting again from the "
                    f"beginning.")
            have, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        else:
            raise DownloadError(f"{url} answered HTTP {response.status} {response.reason}, expected 200. {_hint()}")
        if expected is not None and total is not None and total != expected:
            raise DownloadError(f"{url} serves {total:,} bytes, but {_shown(part)} is {expected:,} bytes: that URL "
                                f"serves some other file. Check the URL. {_hint()}")
        if total is not None:
            _need_space(total - have, part.parent, f"the download of {_shown(part)}")

        bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
                   desc=f"download {_shown(part)}", file=sys.stderr, mininterval=0.5, dynamic_ncols=True)
        try:
            with open(part, mode) as out:
                while True:
                    try:
                        chunk = response.read(CHUNK)
                    except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as err:
                        raise _Broken(_describe_exc(err)) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    have += len(chunk)
                    bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except OSError as err:
            raise _os_error(err, "writing the download", part) from None
        finally:
            bar.close()
        if total is not None and have < total:
            raise _Broken(f"the connection closed after {have:,} of {total:,} bytes")


def download(url: str, part: Path, expected: int | None, *, retries: int = 3, progress: bool = True, log=print):
    """Download ``url`` into ``part``, resuming what is already there; retry a broken connection ``retries`` times.

    Raises :class:`DownloadError`; after a broken connection the partial file is kept for the next run.
    """
    attempt = 0
    while True:
        try:
            _download_once(url, part, expected, progress, log)
            return
        except _Broken as err:
            have = part.stat().st_size if part.exists() else 0
            if attempt >= retries:
                of = f" of {expected:,}" if expected is not None else ""
                raise DownloadError(
                    f"the download of {url} broke off ({err}) after {have:,}{of} bytes, {attempt + 1} "
                    f"attempt(s). The partial file is kept as {part}: run the same command again to resume "
                    f"where it stopped. {_hint()}") from None
            wait = RETRY_WAIT_S * 2 ** attempt
            attempt += 1
            log(f"download broke off ({err}) at {have:,} bytes; resuming in {wait:.0f} s "
                f"(attempt {attempt + 1} of {retries + 1}).")
            time.sleep(wait)


# -------------------------------------------------------------------- verify


def digests(path: Path, progress: bool = True) -> dict:
    """{'size', 'md5', 'sha256'} of a file, read once."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
                                     desc=f"check {path.name}", file=sys.stderr, mininterval=0.5,
                                     dynamic_ncols=True) as bar:
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


# ------------------------------------------------------------------- extract


def _relative(name: str) -> str:
    """A member name as a clean relative POSIX path ('' for the archive's root); raises _Unsafe."""
    if "\x00" in name:
        raise _Unsafe("has a NUL byte in its name")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise _Unsafe("is an absolute path")
    parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]
    if ".." in parts:
        raise _Unsafe("contains '..', which would put it outside the destination")
    return "/".join(parts)


def _link_problem(rel: str, target: str, symbolic: bool) -> str:
    kind = "a symbolic link" if symbolic else "a hard link"
    base = os.path.dirname(rel) if symbolic else ""
    joined = os.path.normpath(os.path.join(base, target.replace("\\", "/")))
    outside = target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", target) or joined.split(os.sep)[0] == ".."
    where = " that points outside the destination" if outside else ""
    return (f"is {kind} (to {target!r}){where}; links are refused: data archives need none, and a link can "
            f"redirect later members outside the destination")


def _tar_plan(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    plan = []
    for member in tar.getmembers():
        try:
            rel = _relative(member.name)
            if member.issym() or member.islnk():
                raise _Unsafe(_link_problem(rel, member.linkname, member.issym()))
            if member.ischr() or member.isblk() or member.isfifo():
                raise _Unsafe("is a device file or FIFO")
            if not (member.isreg() or member.isdir()):
                raise _Unsafe(f"has an unsupported tar type {member.type!r}")
            if not rel:
                if member.isdir():
                    continue
                raise _Unsafe("has an empty name")
        except _Unsafe as err:
            raise _Unsafe(f"member {member.name!r} {err}") from None
        clean = copy.copy(member)
        clean.name = rel
        clean.mode = 0o755 if member.isdir() else 0o644
        clean.uid = clean.gid = 0
        clean.uname = clean.gname = ""
        plan.append(clean)
    return plan


def _zip_plan(zf: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    plan = []
    for info in zf.infolist():
        try:
            rel = _relative(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _Unsafe(_link_problem(rel, zf.read(info).decode("utf-8", "replace"), True))
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                raise _Unsafe("is a device file, FIFO or socket")
            if info.flag_bits & 0x1:
                raise _Unsafe("is encrypted")
        except _Unsafe as err:
            raise _Unsafe(f"member {info.filename!r} {err}") from None
        if rel:
            plan.append((info, rel))
    return plan


def _inside(path: Path, root: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base + os.sep)


def _bar(total: int, name: str, progress: bool):
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
                desc=f"extract {name}", file=sys.stderr, mininterval=0.5, dynamic_ncols=True)


def _extract_tar(path: Path, staging: Path, progress: bool) -> None:
    with tarfile.open(path, "r:*") as tar:
        plan = _tar_plan(tar)
        _need_space(sum(m.size for m in plan if m.isreg()), staging, f"extracting {path.name}")
        with _bar(sum(m.size for m in plan), path.name, progress) as bar:
            def counted(members):
                for member in members:
                    yield member
                    bar.update(member.size)

            if HAS_DATA_FILTER:
                tar.extractall(staging, members=counted(plan), filter="data")
                return
            # No data filter on this Python: write the checked members' contents ourselves.
            for member in counted(plan):
                target = staging.joinpath(*member.name.split("/"))
                if not _inside(target, staging):
                    raise _Unsafe(f"member {member.name!r} would be written outside the destination")
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)


def _extract_zip(path: Path, staging: Path, progress: bool) -> None:
    with zipfile.ZipFile(path) as zf:
        plan = _zip_plan(zf)
        _need_space(sum(info.file_size for info, _ in plan), staging, f"extracting {path.name}")
        with _bar(sum(info.file_size for info, _ in plan), path.name, progress) as bar:
            for info, rel in plan:
                target = staging.joinpath(*rel.split("/"))
                if not _inside(target, staging):
                    raise _Unsafe(f"member {info.filename!r} would be written outside the destination")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                bar.update(info.file_size)


def extract(path: Path, staging: Path, progress: bool = True) -> None:
    """Extract a .zip or tar archive (any compression, told by content, not name) into the empty ``staging``.

    Every member is checked before anything is written; raises :class:`_Unsafe` for a member that must not be
    extracted, :class:`DownloadError` for an archive that cannot be read.
    """
    try:
        if zipfile.is_zipfile(path):
            _extract_zip(path, staging, progress)
        elif tarfile.is_tarfile(path):
            _extract_tar(path, staging, progress)
        else:
            raise _BadArchive(f"{path} is neither a zip nor a tar archive.")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise _BadArchive(f"{path} could not be extracted: it is damaged ({_describe_exc(err)}).") from None


# ------------------------------------------------------------------- the job


def _stamp_path(dest: Path, archive: Archive) -> Path:
    return dest / f".{archive.filename}.verified.json"


def _stamp_problem(dest: Path, archive: Archive) -> tuple[dict | None, str]:
    """({relative path: size}, '') when the extracted files are there as the stamp says; else (None, why not)."""
    path = _stamp_path(dest, archive)
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


def _files_in(folder: Path) -> list[str]:
    out = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            out.append((Path(root) / name).relative_to(folder).as_posix())
    return sorted(out)


def _check_required(staging: Path, archive: Archive, source: str) -> None:
    problems = []
    for rel, size in archive.required:
        target = staging / rel
        if not target.is_file():
            problems.append(f"{rel} is missing")
        elif size is not None and target.stat().st_size != size:
            problems.append(f"{rel} has {target.stat().st_size:,} bytes, expected {size:,}")
    if problems:
        raise _BadArchive(f"{source} is not the expected {archive.title or archive.filename}: "
                            f"{'; '.join(problems)}. Nothing was extracted into the destination.")


def _move_into(staging: Path, dest: Path, rels: list[str]) -> None:
    for rel in rels:
        target = dest / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir() and not target.is_symlink():
                raise DownloadError(f"cannot put {rel} into {dest}: a folder of that name is in the way. Move it "
                                    f"away and run the same command again.")
            os.replace(staging / rel, target)
        except (FileExistsError, NotADirectoryError):
            raise DownloadError(f"cannot put {rel} into {dest}: a file is in the way of one of its folders. Move "
                                f"it away and run the same command again.") from None
    for root, dirs, _ in os.walk(staging):  # empty folders of the archive
        for name in dirs:
            (dest / (Path(root) / name).relative_to(staging)).mkdir(parents=True, exist_ok=True)


def _write_stamp(dest: Path, archive: Archive, identity: dict, source: str, files: dict) -> None:
    stamp = {"archive": archive.filename, **identity, "source": source,
             "extracted": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files}
    path = _stamp_path(dest, archive)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(stamp, indent=None if len(files) > 50 else 1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


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
    dest = Path(dest).expanduser().absolute()
    if local is not None and not Path(local).expanduser().is_file():
        raise DownloadError(f"--archive {local}: no such file.")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _os_error(err, "creating the destination folder", dest) from None
    if not dest.is_dir():
        raise DownloadError(f"--dest {dest} is not a folder.")

    if not force:
        stamp_files, why = _stamp_problem(dest, archive)
        if stamp_files is not None:
            return Result(dest, stamp_files, already_there=True)
        if why != "not extracted yet":
            log(f"{archive.filename}: {why}; getting it again.")

    staging = dest / f".{archive.filename}.extracting"
    final = dest / archive.filename
    part = dest / f".{archive.filename}.part"
    try:
        if staging.exists():
            shutil.rmtree(staging)
        downloaded, ours = False, True
        if local is not None:
            path, ours = Path(local).expanduser(), False
            source = str(path.absolute())
            identity, wrong = mismatches(archive, path, progress)
            if wrong:
                raise DownloadError(f"--archive {path} is not the expected {archive.filename}: {'; '.join(wrong)}. "
                                    f"The file was left where it is. Check that it is the right file and complete, "
                                    f"or run without --archive to download it.")
        else:
            source = url or archive.url
            if not source:
                raise DownloadError(f"{archive.filename} has no download URL: pass --url URL or --archive PATH.")
            if urllib.parse.urlsplit(source).scheme.lower() not in ("http", "https"):
                raise DownloadError(f"--url {source}: expected an http:// or https:// URL. For a file on this "
                                    f"machine use --archive PATH.")
            path, identity = None, None
            if final.is_file():  # verified earlier, then the run stopped before the end; or put there by hand
                identity, wrong = mismatches(archive, final, progress)
                if not wrong:
                    path = final
                elif archive.size is not None and final.stat().st_size < archive.size and not part.exists():
                    log(f"{final.name} is incomplete ({final.stat().st_size:,} of {archive.size:,} bytes): "
                        f"resuming it.")
                    os.replace(final, part)
                else:
                    log(f"{final} is not the expected archive ({'; '.join(wrong)}): removed, downloading it again.")
                    final.unlink()
            if path is None:
                log(f"downloading {source}\n  to {part} ({describe_size(archive)})")
                download(source, part, archive.size, retries=retries, progress=progress, log=log)
                downloaded = True
                identity, wrong = mismatches(archive, part, progress)
                if wrong:
                    part.unlink()
                    raise DownloadError(
                        f"the download of {source} is not the expected {archive.filename}: {'; '.join(wrong)}. "
                        f"The downloaded file was removed. Run the same command again to download it again, or "
                        f"pass --archive PATH with a copy you trust (or --url URL for another mirror).")
                os.replace(part, final)
                path = final

        if not archive.pins():
            log(f"note: nothing pinned for {archive.filename}, so only its completeness could be checked. Its "
                f"SHA-256 is {identity['sha256']}: pass --sha256 {identity['sha256']} to pin it next time.")
        log(f"{archive.filename} verified ({', '.join(f'{k} {v}' for k, v in archive.pins().items()) or 'unpinned'}); "
            f"extracting into {dest}")

        staging.mkdir()
        try:
            extract(path, staging, progress)
            _check_required(staging, archive, str(path))
        except (_Unsafe, _BadArchive) as err:
            removed = ""
            if ours:
                path.unlink()
                removed = " The downloaded archive was removed: it is not the one this script expects."
            if isinstance(err, _Unsafe):
                err = f"refusing to extract {path.name}: {err}. Nothing was extracted"
            raise DownloadError(f"{str(err).rstrip('.')}.{removed} Use the official archive (the default URL, "
                                f"or --archive with a trusted copy).") from None
        rels = _files_in(staging)
        files = {}
        for rel in rels:
            size = (staging / rel).stat().st_size
            files[rel] = [size, _sha256(staging / rel)] if archive.hash_files else [size]
        _move_into(staging, dest, rels)
        shutil.rmtree(staging)
        _write_stamp(dest, archive, {k: identity[k] for k in ("size", "md5", "sha256") if k in identity},
                     source, files)
        if ours and not keep_archive:
            path.unlink()
            log(f"removed {path} (its checksums are in {_stamp_path(dest, archive).name}; --keep-archive keeps it)")
    except OSError as err:
        raise _os_error(err, "reading or writing the data", dest) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return Result(dest, {rel: info[0] for rel, info in files.items()}, downloaded=downloaded)


# ----------------------------------------------------------------- the scripts


def run(main_body, prog: str) -> int:
    """Run a script's body, turning the expected failures into one 'error:' line and an exit status."""
    try:
        return main_body()
    except DownloadError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted. A download under way is kept as its .part file, and running the same "
              f"command again resumes it.", file=sys.stderr)
        return 130


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def add_common_arguments(parser, default_dest: str) -> None:
    parser.add_argument("--dest", default=default_dest, metavar="DIR",
                        help=f"folder to put the data in (default: {default_dest})")
    parser.add_argument("--url", metavar="URL", help="download from this mirror instead of the default URL "
                        "(the file is checked the same way)")
    parser.add_argument("--archive", metavar="PATH", help="use this archive file, already downloaded, instead of "
                        "downloading (checked the same way; never moved or deleted)")
    parser.add_argument("--force", action="store_true", help="download (if needed) and extract again even when "
                        "the data is already there")
    parser.add_argument("--keep-archive", action="store_true", help="keep the downloaded archive in DIR after "
                        "extracting it (default: delete it; its checksums stay in the stamp file)")
    parser.add_argument("--retries", type=_count, default=3, metavar="N", help="resume a broken download up to N "
                        "times before giving up (default: 3); a later run resumes it too")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
