"""Extracting a verified archive safely and atomically.

Every member of a .zip, .tar, .tar.gz/.tgz, .tar.bz2 or .tar.xz is checked *before* the first byte is
written: absolute paths, ``..`` components, links (symbolic or hard: the data archives have none, and a
link can redirect later members outside the destination), device files, FIFOs and encrypted zip members
are refused. Tar archives are then extracted with tarfile's ``data`` filter where this Python has it
(3.10.12+, 3.11.4+, 3.12+), else member by member by this module, file contents only.

Extraction goes to an empty staging folder, is checked (``Archive.required``), and only then moved into
the destination file by file with ``os.replace`` (:func:`move_into`); files of the destination that the
archive does not hold are left alone.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path

from _common import CHUNK, Archive, DownloadError, describe_exc, need_space, progress_bar

HAS_DATA_FILTER = hasattr(tarfile, "data_filter")


class BadArchive(DownloadError):
    """A verified archive that cannot be extracted or does not hold what it should."""


class Unsafe(Exception):
    """An archive member that must not be extracted."""


def _relative(name: str) -> str:
    """A member name as a clean relative POSIX path ('' for the archive's root); raises Unsafe."""
    if "\x00" in name:
        raise Unsafe("has a NUL byte in its name")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise Unsafe("is an absolute path")
    parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]
    if ".." in parts:
        raise Unsafe("contains '..', which would put it outside the destination")
    return "/".join(parts)


def _link_problem(rel: str, target: str, symbolic: bool) -> str:
    kind = "a symbolic link" if symbolic else "a hard link"
    base = os.path.dirname(rel) if symbolic else ""
    joined = os.path.normpath(os.path.join(base, target.replace("\\", "/")))
    outside = target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", target) or joined.split(os.sep)[0] == ".."
    where = " that points outside the destination" if outside else ""
    return (f"is {kind} (to {target!r}){where}; links are refused: data archives need none, and a link can "
            f"redirect later members outside the destination")


def tar_plan(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The members of a tar archive, each checked (raises :class:`Unsafe`) and cleaned: a relative name, plain
    permissions, no owner."""
    plan = []
    for member in tar.getmembers():
        try:
            rel = _relative(member.name)
            if member.issym() or member.islnk():
                raise Unsafe(_link_problem(rel, member.linkname, member.issym()))
            if member.ischr() or member.isblk() or member.isfifo():
                raise Unsafe("is a device file or FIFO")
            if not (member.isreg() or member.isdir()):
                raise Unsafe(f"has an unsupported tar type {member.type!r}")
            if not rel:
                if member.isdir():
                    continue
                raise Unsafe("has an empty name")
        except Unsafe as err:
            raise Unsafe(f"member {member.name!r} {err}") from None
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
                raise Unsafe(_link_problem(rel, zf.read(info).decode("utf-8", "replace"), True))
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                raise Unsafe("is a device file, FIFO or socket")
            if info.flag_bits & 0x1:
                raise Unsafe("is encrypted")
        except Unsafe as err:
            raise Unsafe(f"member {info.filename!r} {err}") from None
        if rel:
            plan.append((info, rel))
    return plan


def _inside(path: Path, root: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base + os.sep)


def _write_member(staging: Path, rel: str, name: str, is_dir: bool, open_source) -> None:
    """Write one checked member at ``staging/rel``: a folder, or the bytes of the file ``open_source()`` opens."""
    target = staging.joinpath(*rel.split("/"))
    if not _inside(target, staging):
        raise Unsafe(f"member {name!r} would be written outside the destination")
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_source() as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, CHUNK)


def _extract_tar(path: Path, staging: Path, progress: bool) -> None:
    with tarfile.open(path, "r:*") as tar:
        plan = tar_plan(tar)
        need_space(sum(m.size for m in plan if m.isreg()), staging, f"extracting {path.name}")
        with progress_bar(sum(m.size for m in plan), f"extract {path.name}", progress) as bar:
            def counted(members):
                for member in members:
                    yield member
                    bar.update(member.size)

            if HAS_DATA_FILTER:
                tar.extractall(staging, members=counted(plan), filter="data")
                return
            # No data filter on this Python: write the checked members' contents ourselves.
            for member in counted(plan):
                _write_member(staging, member.name, member.name, member.isdir(), lambda: tar.extractfile(member))


def _extract_zip(path: Path, staging: Path, progress: bool) -> None:
    with zipfile.ZipFile(path) as zf:
        plan = _zip_plan(zf)
        need_space(sum(info.file_size for info, _ in plan), staging, f"extracting {path.name}")
        with progress_bar(sum(info.file_size for info, _ in plan), f"extract {path.name}", progress) as bar:
            for info, rel in plan:
                _write_member(staging, rel, info.filename, info.is_dir(), lambda: zf.open(info))
                bar.update(info.file_size)


def extract(path: Path, staging: Path, progress: bool = True) -> None:
    """Extract a .zip or tar archive (any compression, told by content, not name) into the empty ``staging``.

    Every member is checked before anything is written; raises :class:`Unsafe` for a member that must not be
    extracted, :class:`DownloadError` for an archive that cannot be read.
    """
    try:
        if zipfile.is_zipfile(path):
            _extract_zip(path, staging, progress)
        elif tarfile.is_tarfile(path):
            _extract_tar(path, staging, progress)
        else:
            raise BadArchive(f"{path} is neither a zip nor a tar archive.")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise BadArchive(f"{path} could not be extracted: it is damaged ({describe_exc(err)}).") from None


def check_required(staging: Path, archive: Archive, source: str) -> None:
    """Raise :class:`BadArchive` unless ``staging`` holds every file of ``archive.required`` with its size."""
    problems = []
    for rel, size in archive.required:
        target = staging / rel
        if not target.is_file():
            problems.append(f"{rel} is missing")
        elif size is not None and target.stat().st_size != size:
            problems.append(f"{rel} has {target.stat().st_size:,} bytes, expected {size:,}")
    if problems:
        raise BadArchive(f"{source} is not the expected {archive.title or archive.filename}: "
                         f"{'; '.join(problems)}. Nothing was extracted into the destination.")


def files_in(folder: Path) -> list[str]:
    """Every file below ``folder``, as sorted relative POSIX paths."""
    out = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            out.append((Path(root) / name).relative_to(folder).as_posix())
    return sorted(out)


def move_into(staging: Path, dest: Path, rels: list[str]) -> None:
    """Move the extracted files ``rels`` from ``staging`` into ``dest`` one by one (``os.replace``), then make
    the archive's empty folders; raises DownloadError when a file or folder of ``dest`` is in the way."""
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
