#!/usr/bin/env python3
"""Turn a JPEG copy of CIFAR-10 in class folders into the layout colorlab reads: the official binary files.

    python data_scripts/cifar10_from_jpeg.py --archive ../shared/data/cifar10-jpeg.tar.gz --dest data/
    python data_scripts/cifar10_from_jpeg.py --folder /tmp/cifar10-jpeg --dest data/      # already extracted
    python data_scripts/cifar10_from_jpeg.py --archive cifar10-jpeg.tar.gz --dest data/ --layout folder

The input holds ``train/<class>/*.jpg`` (5,000 images of 32x32 per class) and ``test/<class>/*.jpg`` (1,000
per class) for the ten CIFAR-10 classes (airplane ... truck); in an archive they may sit under one top
folder. What comes out:

* ``--layout binary`` (the default): ``DIR/cifar-10-batches-bin/`` as the official
  ``cifar-10-binary.tar.gz`` has it, the layout ``colorlab.data.load_cifar10`` and ``dataset = "cifar10"``
  read::

      data_batch_1.bin ... data_batch_5.bin   the 50,000 training images, 10,000 records each
      test_batch.bin                          the 10,000 test images
      batches.meta.txt                        the 10 class names, one a line, in label order
      sources.txt                             which JPEG each record was decoded from (not in the official set)

  A record is one label byte (0-9, the class's index in CIFAR-10's order) and 3,072 pixel bytes: the R
  plane, then G, then B, each 32x32 row-major. The images of a split are sorted by class and file name,
  then shuffled with a fixed seed (``SHUFFLE_SEED``), so the first N records are a mix of classes, as in
  the official files, and the output is the same byte for byte on every run and machine.
* ``--layout folder``: the archive safely extracted into ``DIR/cifar10/`` (``DIR/cifar10/train/<class>/``),
  which ``dataset = "cifar10"`` also reads (see ``colorlab.data.find_cifar10``), and so does any labelled
  folder given as the dataset.

Safety and atomicity as in ``get_cifar10.py`` (``_extract.py``): every archive member is checked before
anything is read or written (absolute paths, ``..``, links, devices and FIFOs are refused); the binary
files are written in a temporary folder and moved into place only when all of them are complete; a
stamp (``DIR/.cifar-10-batches-bin.from-jpeg.json``) records the SHA-256 of the input, so a second run
with the same input does nothing. Decoding all 60,000 JPEGs takes about 10 s on one core. Only the
standard library, numpy, PIL and tqdm are used (not colorlab, so torch is not imported).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
# The shared modules, and get_cifar10.py's layout, next to this file.
from _cli import run, script_parser  # noqa: E402
from _common import IMAGE_EXTENSIONS, Archive, DownloadError, human, need_space, os_error, sha256_file  # noqa: E402
from _common import write_text  # noqa: E402
from _ensure import ensure  # noqa: E402
from _extract import Unsafe, tar_plan  # noqa: E402
from _stamp import file_list, stamped_files  # noqa: E402
from get_cifar10 import FOLDER, how_to_use  # noqa: E402

PROG = "cifar10_from_jpeg.py"
DEFAULT_DEST = "data/"           # = the default of COLORLAB_DATA in colorlab.data.load_images
LABELLED_FOLDER = "cifar10"      # = colorlab.data.cifar10.CLASS_FOLDER_NAMES[0]
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")
# Module constants read at call time, so tests can shrink them for a tiny archive.
PER_CLASS = {"train": 5_000, "test": 1_000}
RECORDS_PER_FILE = 10_000
SIDE = 32
RECORD = 1 + 3 * SIDE * SIDE  # 3,073: a label byte, then the R, G and B planes
SHUFFLE_SEED = 0
STAMP = f".{FOLDER}.from-jpeg.json"
FORMAT = 1  # bump when the output for the same input changes, so old stamps stop matching


def batch_files() -> dict[str, tuple[str, ...]]:
    """The .bin files of each split: data_batch_1..5.bin for 50,000 training images, test_batch.bin."""
    n_train = len(CLASSES) * PER_CLASS["train"] // RECORDS_PER_FILE
    return {"train": tuple(f"data_batch_{i}.bin" for i in range(1, n_train + 1)), "test": ("test_batch.bin",)}


# ------------------------------------------------------------------ reading the input


def _place(rel: str) -> tuple[str, str, str, str] | None:
    """'top/train/cat/0001.jpg' -> ('top', 'train', 'cat', '0001.jpg'); None for anything that is not an image
    of a class folder (a README, a hidden file)."""
    parts = rel.split("/")
    if len(parts) < 3 or any(p.startswith(".") for p in parts) or not parts[-1].lower().endswith(IMAGE_EXTENSIONS):
        return None
    if parts[-3] not in SPLITS:
        return None
    return "/".join(parts[:-3]), parts[-3], parts[-2], parts[-1]


def _check_members(places: list[tuple[str, str, str, str]], where: str) -> str:
    """Check the classes and counts before anything is decoded; returns the common top folder ('' for none)."""
    if not places:
        raise DownloadError(f"{where} holds no images in train/<class>/ or test/<class>/ folders: it is not a "
                            f"copy of CIFAR-10 in class folders.")
    tops = sorted({p[0] for p in places})
    if len(tops) > 1:
        raise DownloadError(f"{where} holds train/ and test/ folders in more than one place "
                            f"({', '.join(map(repr, tops))}); "
                            f"expected one copy of CIFAR-10.")
    for split in SPLITS:
        counts = {}
        for _, s, cls, _ in places:
            if s == split:
                counts[cls] = counts.get(cls, 0) + 1
        unknown = sorted(set(counts) - set(CLASSES))
        if unknown:
            raise DownloadError(f"{where}: {split}/ has class folder(s) that CIFAR-10 lacks: {', '.join(unknown)}. "
                                f"Expected exactly {', '.join(CLASSES)}.")
        wrong = [f"{cls} {counts.get(cls, 0):,}" for cls in CLASSES if counts.get(cls, 0) != PER_CLASS[split]]
        if wrong:
            raise DownloadError(f"{where}: {split}/ should hold {PER_CLASS[split]:,} images per class, as CIFAR-10 "
                                f"does, but holds {', '.join(wrong)}. The copy is incomplete or not CIFAR-10.")
    return tops[0]


def _read_archive(path: Path, progress: bool) -> dict[tuple[str, str, str], bytes]:
    """{(split, class, file name): JPEG bytes} of a tar archive (any compression), checked member by member first."""
    try:
        with tarfile.open(path, "r:*") as tar:
            try:
                plan = tar_plan(tar)  # every member is checked before a single one is read
            except Unsafe as err:
                raise DownloadError(f"refusing to read {path.name}: {err}. Nothing was written. Use a trusted copy "
                                    f"of the archive.") from None
            wanted = [(m, _place(m.name)) for m in plan if m.isreg()]
            wanted = [(m, place) for m, place in wanted if place is not None]
            _check_members([place for _, place in wanted], str(path))
            out = {}
            # In the archive's order, so a compressed stream is read forwards once.
            for member, (_, split, cls, name) in tqdm(wanted, desc=f"read {path.name}", unit=" files",
                                                      disable=not progress, file=sys.stderr, mininterval=0.5):
                with tar.extractfile(member) as f:
                    out[(split, cls, name)] = f.read()
            return out
    except tarfile.ReadError as err:
        raise DownloadError(f"{path} is not a tar archive that Python can read ({err}); expected a "
                            f".tar.gz like cifar10-jpeg.tar.gz. An extracted copy works with --folder.") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise DownloadError(f"{path} could not be read: it is damaged ({type(err).__name__}: {err}).") from None


def _folder_files(folder: Path) -> dict[tuple[str, str, str], Path]:
    found = {}
    for split in SPLITS:
        if not (folder / split).is_dir():
            raise DownloadError(f"--folder {folder} has no {split}/ folder; expected train/<class>/ and "
                                f"test/<class>/ folders of CIFAR-10 JPEG images.")
        for path in (folder / split).rglob("*"):
            if path.is_file() and not path.is_symlink():
                place = _place(path.relative_to(folder).as_posix())
                if place is not None and place[0] == "":
                    found[place[1:]] = path
    _check_members([("", *key) for key in found], f"--folder {folder}")
    return found


def _folder_fingerprint(files: dict[tuple[str, str, str], Path]) -> str:
    """SHA-256 over the sorted names and contents, so a changed image or a renamed file changes it."""
    h = hashlib.sha256()
    for key in sorted(files):
        content = files[key].read_bytes()
        h.update(f"{'/'.join(key)}\0{len(content)}\0".encode())
        h.update(content)
    return h.hexdigest()


# ------------------------------------------------------------------ decoding and writing


def _decode(jpeg: bytes, name: str) -> np.ndarray:
    """JPEG bytes -> uint8 (3, 32, 32), channel-major as a CIFAR record stores it."""
    try:
        with Image.open(io.BytesIO(jpeg)) as img:
            rgb = np.asarray(img.convert("RGB"))
    except Exception as err:  # PIL raises OSError, SyntaxError, ... on malformed files
        raise DownloadError(f"{name} could not be decoded ({type(err).__name__}: {err}): the copy is "
                            f"damaged.") from None
    if rgb.shape != (SIDE, SIDE, 3):
        raise DownloadError(f"{name} is {rgb.shape[1]}x{rgb.shape[0]} pixels; CIFAR-10 images are {SIDE}x{SIDE}.")
    return rgb.transpose(2, 0, 1)


def _records(split: str, jpegs: dict, progress: bool) -> tuple[np.ndarray, list[str]]:
    """The split's records (N, 3073) uint8 in the shuffled order, and the source of each ('train/cat/0001.jpg')."""
    keys = sorted((CLASSES.index(cls), name, cls) for s, cls, name in jpegs if s == split)
    order = np.random.default_rng([SHUFFLE_SEED, SPLITS.index(split)]).permutation(len(keys))
    records = np.empty((len(keys), RECORD), np.uint8)
    sources = []
    for i, k in enumerate(tqdm(order, desc=f"decode {split}", unit=" images", disable=not progress,
                               file=sys.stderr, mininterval=0.5)):
        label, name, cls = keys[k]
        source = f"{split}/{cls}/{name}"
        records[i, 0] = label
        records[i, 1:] = _decode(jpegs[(split, cls, name)], source).reshape(-1)
        sources.append(source)
    return records, sources


def _outputs() -> list[str]:
    files = batch_files()
    return [f"{FOLDER}/{name}" for name in files["train"] + files["test"]] + [f"{FOLDER}/batches.meta.txt",
                                                                             f"{FOLDER}/sources.txt"]


def _stamp_matches(dest: Path, identity: dict) -> bool:
    try:
        stamp = json.loads((dest / STAMP).read_text(encoding="utf-8"))
        if any(stamp.get(k) != v for k, v in identity.items()) or sorted(stamp["files"]) != sorted(_outputs()):
            return False
        return all((dest / rel).stat().st_size == info[0] for rel, info in stamp["files"].items())
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return False


def _write_binary(dest: Path, jpegs: dict, identity: dict, progress: bool) -> None:
    needed = len(jpegs) * RECORD
    need_space(needed, dest, f"the CIFAR-10 binary files ({human(needed)})")
    staging = dest / f".{FOLDER}.building-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        lines = []
        for split in SPLITS:
            records, sources = _records(split, jpegs, progress)
            # The counts were checked against PER_CLASS, which the official layout fixes: 5 + 1 full files.
            assert len(records) == RECORDS_PER_FILE * len(batch_files()[split]), (split, len(records))
            for i, name in enumerate(batch_files()[split]):
                records[i * RECORDS_PER_FILE:(i + 1) * RECORDS_PER_FILE].tofile(staging / name)
                lines += [f"{name} {r} {source}" for r, source in
                          enumerate(sources[i * RECORDS_PER_FILE:(i + 1) * RECORDS_PER_FILE])]
        (staging / "batches.meta.txt").write_text("\n".join(CLASSES) + "\n\n", encoding="ascii")
        (staging / "sources.txt").write_text(
            "# <file> <record index> <JPEG it was decoded from>; labels in batches.meta.txt order\n"
            + "\n".join(lines) + "\n", encoding="utf-8")
        files = {f"{FOLDER}/{name}": info for name, info in
                 file_list(staging, sorted(p.name for p in staging.iterdir()), with_hashes=True).items()}
        # The old stamp goes first: a crash while moving then leaves no stamp that vouches for mixed files.
        (dest / STAMP).unlink(missing_ok=True)
        (dest / FOLDER).mkdir(exist_ok=True)
        for rel in files:
            os.replace(staging / rel.split("/", 1)[1], dest / rel)
        stamp = {**identity, "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files}
        write_text(dest / STAMP, json.dumps(stamp, indent=1) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def _locked(dest: Path):
    """One run at a time per DIR (two test sessions may build the same cache); a no-op where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(dest / f".{FOLDER}.from-jpeg.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ------------------------------------------------------------------ the two layouts


def binary_layout(dest: Path, archive: Path | None = None, folder: Path | None = None, force: bool = False,
                  progress: bool = True, log=print) -> bool:
    """Write ``dest/cifar-10-batches-bin`` from an archive or an extracted folder. Returns False when it was
    already there (the stamp matches the input), True when it was written. Raises DownloadError."""
    if archive is not None:
        identity = {"format": FORMAT, "seed": SHUFFLE_SEED, "input": "archive", "sha256": sha256_file(archive)}
    else:
        files = _folder_files(folder)
        identity = {"format": FORMAT, "seed": SHUFFLE_SEED, "input": "folder", "sha256": _folder_fingerprint(files)}
    if not force and _stamp_matches(dest, identity):
        return False
    if archive is not None:
        jpegs = _read_archive(archive, progress)
    else:
        jpegs = {key: path.read_bytes() for key, path in files.items()}
    log(f"decoding {len(jpegs):,} JPEG images into {dest / FOLDER}")
    _write_binary(dest, jpegs, identity, progress)
    return True


def folder_layout(dest: Path, archive: Path, force: bool = False, progress: bool = True, log=print) -> bool:
    """Safely extract the archive into ``dest/cifar10`` (train/<class>/, test/<class>/). Returns False when it
    was already there, True when it was extracted. Raises DownloadError."""
    target = dest / LABELLED_FOLDER
    pinned = Archive(filename=archive.name, url=None, sha256=sha256_file(archive),
                     title="CIFAR-10 in class folders (JPEG)")
    if not force and stamped_files(target, pinned)[0] is not None:
        return False
    try:
        with tarfile.open(archive, "r:*") as tar:
            places = [_place(m.name) for m in tar_plan(tar) if m.isreg()]
    except Unsafe as err:
        raise DownloadError(f"refusing to extract {archive.name}: {err}. Nothing was extracted. Use a trusted "
                            f"copy of the archive.") from None
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise DownloadError(f"{archive} could not be read as a tar archive ({type(err).__name__}: {err}).") from None
    top = _check_members([p for p in places if p is not None], str(archive))
    if top:
        raise DownloadError(f"{archive} keeps train/ and test/ under {top}/, so extracting it would not give "
                            f"{target}/train/. Extract it yourself and pass --folder {top}, or use the default "
                            f"binary layout, which reads it as it is.")
    ensure(pinned, target, local=archive, force=True, progress=progress, log=log)
    return True


# ------------------------------------------------------------------ the script


def parser() -> argparse.ArgumentParser:
    p = script_parser(PROG, DEFAULT_DEST, __doc__, "It writes DIR/cifar-10-batches-bin, or with --layout folder "
                      "extracts the archive into DIR/cifar10; dataset = \"cifar10\" reads either.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--archive", metavar="PATH", help="a .tar.gz (or .tar, .tar.bz2, .tar.xz) of train/<class>/ "
                        "and test/<class>/ JPEG folders, e.g. ../shared/data/cifar10-jpeg.tar.gz")
    source.add_argument("--folder", metavar="PATH", help="the same, already extracted (binary layout only)")
    p.add_argument("--layout", choices=("binary", "folder"), default="binary",
                   help="binary: DIR/cifar-10-batches-bin/*.bin, as the official archive (default); folder: the "
                        "archive extracted into DIR/cifar10/")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)

    def body() -> int:
        if args.layout == "folder" and args.folder:
            raise DownloadError(f"--folder {args.folder} is already the folder layout: set COLORLAB_DATA to the "
                                f"folder that holds it as cifar10/, or pass it as the dataset. --layout folder "
                                f"needs --archive.")
        source = Path(args.archive or args.folder).expanduser()
        if args.archive and not source.is_file():
            raise DownloadError(f"--archive {source}: no such file.")
        if args.folder and not source.is_dir():
            raise DownloadError(f"--folder {source}: no such folder.")
        dest = Path(args.dest).expanduser().absolute()
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise os_error(err, "creating the destination folder", dest) from None
        start = time.perf_counter()
        try:
            with _locked(dest):
                if args.layout == "binary":
                    done = binary_layout(dest, archive=source if args.archive else None,
                                         folder=source if args.folder else None, force=args.force,
                                         progress=not args.quiet)
                else:
                    done = folder_layout(dest, source, force=args.force, progress=not args.quiet)
        except OSError as err:
            raise os_error(err, "reading or writing the data", dest) from None
        seconds = time.perf_counter() - start
        if done:
            print(f"wrote the {args.layout} layout in {seconds:.1f} s")
        else:
            print(f"CIFAR-10 ({args.layout} layout) is already there, made from this very input; nothing to do "
                  f"(--force writes it again).")
        print(how_to_use(dest, None if args.layout == "binary" else dest / LABELLED_FOLDER))
        return 0

    return run(body, PROG)


if __name__ == "__main__":
    sys.exit(main())
