#!/usr/bin/env python3
"""Download a folder data set of larger photos for colorlab (as 000 used), check it, and extract it safely.

    python data_scripts/get_photos.py --list                  # the known archives
    python data_scripts/get_photos.py coco-val2017            # -> data/val2017/, 5,000 photos
    python data_scripts/get_photos.py places365-val256        # -> data/val_256/, 36,500 photos of 256x256
    python data_scripts/get_photos.py coco-val2017 --archive ~/Downloads/val2017.zip     # no network needed
    python data_scripts/get_photos.py --url https://example.org/my_photos.zip --sha256 <hex>   # any archive

Known archives (``--list``):

* ``coco-val2017``: COCO 2017 validation images, http://images.cocodataset.org/zips/val2017.zip,
  5,000 photos, 815,585,330 bytes. COCO publishes no checksum for it, so only the **size is pinned**;
  pin a checksum yourself with ``--md5`` or ``--sha256`` (an MD5 widely quoted by third parties is
  442b8da7639aecaf257c1dceb8ba8c80; it is not from the publisher).
* ``places365-val256``: the Places365 validation set at 256x256 pixels,
  http://data.csail.mit.edu/places/places365/val_256.tar, 36,500 photos, MD5
  e27b17d8d44f4af9a78502beb927f808 as published on the Places2 download page. Its exact size is not
  pinned (about 501 MiB; the checksum decides).

Any other .zip or .tar(.gz/.bz2/.xz) archive of photos works with ``--url`` or ``--archive``; pin it with
``--sha256``/``--md5``/``--size`` (without a pin only its completeness can be checked, and the script prints
its SHA-256 so that you can pin it next time).

The same guarantees as ``get_cifar10.py`` (see ``_ensure.py``): downloads go to ``<dest>/.<name>.part`` and
are resumed after a broken connection; size and checksum are checked before anything is extracted; zip and
tar members with absolute paths, ``..``, links or devices are refused; extraction goes through a temporary
folder and files are moved into place only when it is complete; a second run does nothing. The photos end
up in a folder (``data/val2017``, ...) that a notebook uses as ``dataset = "data/val2017"``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import urllib.parse
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
# The shared modules, next to this file.
from _cli import add_download_arguments, run, script_parser  # noqa: E402
from _common import ARCHIVE_SUFFIXES, Archive, DownloadError, describe_size, is_photo  # noqa: E402
from _ensure import Result, ensure  # noqa: E402

PROG = "get_photos.py"
DEFAULT_DEST = "data/"

KNOWN = {
    "coco-val2017": Archive(
        filename="val2017.zip",
        url="http://images.cocodataset.org/zips/val2017.zip",
        size=815_585_330,
        title="COCO 2017 validation images",
        photos=5_000,
        note="COCO publishes no checksum: the size is pinned, not a checksum (pin one with --md5 or --sha256)",
    ),
    "places365-val256": Archive(
        filename="val_256.tar",
        url="http://data.csail.mit.edu/places/places365/val_256.tar",
        md5="e27b17d8d44f4af9a78502beb927f808",  # published on the Places2 download page ("Validation images. 501M")
        approx_size=525_158_400,
        title="Places365 validation images, 256x256",
        photos=36_500,
        note="MD5 as published on the Places2 download page; the exact size is not pinned (about 501 MiB)",
    ),
}


def _hex(length: int, what: str):
    def parse(text: str) -> str:
        if not re.fullmatch(rf"[0-9a-fA-F]{{{length}}}", text):
            raise argparse.ArgumentTypeError(f"{what} must be {length} hexadecimal digits, got {text!r}")
        return text.lower()
    return parse


def _size(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"the size is a positive number of bytes, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    p = script_parser(PROG, DEFAULT_DEST, __doc__, f"Known archives: {', '.join(KNOWN)} (details: --list); any "
                      f"other .zip or .tar archive with --url or --archive. A notebook then reads the photo folder "
                      f"as its dataset (dataset = \"data/val2017\").")
    p.add_argument("name", nargs="?", metavar="NAME", help="a known archive (see --list); leave it out to "
                   "fetch any archive given by --url or --archive")
    p.add_argument("--list", action="store_true", help="show the known archives and exit")
    add_download_arguments(p)
    p.add_argument("--md5", type=_hex(32, "--md5"), metavar="HEX", help="pin the archive's MD5 (replaces a "
                   "known one)")
    p.add_argument("--sha256", type=_hex(64, "--sha256"), metavar="HEX", help="pin the archive's SHA-256")
    p.add_argument("--size", type=_size, metavar="BYTES", help="pin the archive's size in bytes (replaces a "
                   "known one)")
    return p


def listing() -> str:
    lines = [f"Known photo archives ({PROG} NAME [--dest DIR]):", ""]
    for name, a in KNOWN.items():
        pins = ", ".join(f"{k} {v:,}" if k == "size" else f"{k} {v}" for k, v in a.pins().items())
        lines += [f"{name:<18} {a.title}: {a.photos:,} photos, {describe_size(a)}",
                  f"{'':<18} {a.url}",
                  f"{'':<18} checked: {pins}",
                  f"{'':<18} {a.note}", ""]
    lines.append("Any other archive: --url URL or --archive PATH, pinned with --sha256/--md5/--size.")
    return "\n".join(lines)


def _custom(args) -> Archive:
    """An archive that is not in KNOWN, named after its URL or file."""
    if args.archive:
        filename = Path(args.archive).name
    else:
        # Decode first, then keep the last segment: an encoded %2F or %5C must not smuggle in a folder,
        # and nothing the URL or the server says can steer the file outside --dest.
        decoded = urllib.parse.unquote(urllib.parse.urlsplit(args.url).path).replace("\\", "/")
        filename = decoded.rstrip("/").rsplit("/", 1)[-1]
    if (not filename.lower().endswith(ARCHIVE_SUFFIXES) or filename.startswith(".")
            or filename != Path(filename).name or "\0" in filename):
        raise DownloadError(f"cannot tell an archive's name from {args.archive or args.url!r}: expected a name "
                            f"ending in {', '.join(ARCHIVE_SUFFIXES)}. Download it another way and pass "
                            f"--archive PATH.")
    return Archive(filename=filename, url=args.url, title=filename)


def choose(args) -> Archive:
    if args.name is not None:
        if args.name not in KNOWN:
            raise DownloadError(f"unknown archive {args.name!r}; the known ones are {', '.join(KNOWN)} "
                                f"(--list), or give any archive with --url URL or --archive PATH.")
        archive = KNOWN[args.name]
    elif args.url or args.archive:
        archive = _custom(args)
    else:
        raise DownloadError(f"name an archive ({', '.join(KNOWN)}; see --list), or give one with --url URL or "
                            f"--archive PATH.")
    pins = {k: getattr(args, k) for k in ("size", "md5", "sha256") if getattr(args, k) is not None}
    return dataclasses.replace(archive, **pins)


def how_to_use(result: Result, archive: Archive) -> str:
    folders = [f for f in result.folders if result.photo_count(f)] or []
    top_level = sum(1 for rel in result.files if "/" not in rel and is_photo(rel))
    lines = []
    for folder in folders:
        lines.append(f"{result.photo_count(folder):,} photos in {result.dest / folder}")
    if top_level or not folders:
        lines.append(f"{top_level:,} photos directly in {result.dest}")
    total = result.photo_count()
    if archive.photos is not None and total != archive.photos:
        lines.append(f"note: {archive.title} should hold {archive.photos:,} photos, found {total:,}.")
    example = result.dest / folders[0] if len(folders) == 1 and not top_level else result.dest
    lines.append(f"To use them, set dataset = \"{example}\" in a notebook's parameters cell (or papermill -p dataset "
                 f"{example}). colorlab reads every photo of the folder and its sub-folders, puts about 1 in 5 in "
                 f"the test split (by a hash of the file name), and resizes and centre-crops each to the "
                 f"notebook's size.")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        print(listing())
        return 0

    def body() -> int:
        archive = choose(args)
        result = ensure(archive, args.dest, url=args.url, local=args.archive, force=args.force,
                        keep_archive=args.keep_archive, retries=args.retries, progress=not args.quiet)
        if result.already_there:
            print(f"{archive.filename} is already extracted in {result.dest} (checked against "
                  f".{archive.filename}.verified.json); nothing to do (--force extracts it again).")
        print(how_to_use(result, archive))
        return 0

    return run(body, PROG)


if __name__ == "__main__":
    sys.exit(main())
