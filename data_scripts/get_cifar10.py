#!/usr/bin/env python3
"""Download CIFAR-10 (binary version) for colorlab, check it, and extract it where the notebooks look.

    python data_scripts/get_cifar10.py                  # into data/ (what the notebooks read by default)
    python data_scripts/get_cifar10.py --dest /big/disk/data
    python data_scripts/get_cifar10.py --archive ~/Downloads/cifar-10-binary.tar.gz   # no network needed
    python data_scripts/get_cifar10.py --url https://mirror.example.org/cifar-10-binary.tar.gz

The archive is ``cifar-10-binary.tar.gz`` (170,052,171 bytes, MD5 c32a1d4ab5d03f1284b67883e8d87530, as
published on https://www.cs.toronto.edu/~kriz/cifar.html). It is downloaded to ``<dest>/.cifar-10-binary.tar.gz.part``
(a broken download is resumed), its size and MD5 are checked before anything is extracted, and it is
extracted safely (no absolute paths, no ``..``, no links or devices) into ``<dest>/cifar-10-batches-bin/``:

    data_batch_1.bin ... data_batch_5.bin   the 50,000 training images (10,000 records each)
    test_batch.bin                          the 10,000 test images
    batches.meta.txt                        the 10 class names
    readme.html

Each .bin file is 30,730,000 bytes: 10,000 records of one label byte and 3,072 pixel bytes (the R, G and
B planes, 32x32 each). This is the layout ``colorlab.data.load_cifar10(dest)`` reads, and ``dest`` defaults
to ``data/``, the default of the ``COLORLAB_DATA`` environment variable that the notebooks read when
``dataset = "cifar10"``. A second run finds ``<dest>/.cifar-10-binary.tar.gz.verified.json`` and the
files it lists, and does nothing. Only the standard library and tqdm are used.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
# The shared modules, next to this file.
from _cli import add_download_arguments, run, script_parser  # noqa: E402
from _common import Archive  # noqa: E402
from _ensure import ensure  # noqa: E402

PROG = "get_cifar10.py"
DEFAULT_DEST = "data/"        # = the default of COLORLAB_DATA in colorlab.data.load_images
FOLDER = "cifar-10-batches-bin"  # = colorlab.data.cifar10.BATCHES_FOLDER
BATCH_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",)
BATCH_BYTES = 10_000 * (1 + 3 * 32 * 32)  # 30,730,000: 10,000 records of a label byte + 3,072 pixel bytes
META_FILE = "batches.meta.txt"

ARCHIVE = Archive(
    filename="cifar-10-binary.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    size=170_052_171,
    md5="c32a1d4ab5d03f1284b67883e8d87530",  # published on https://www.cs.toronto.edu/~kriz/cifar.html
    title="CIFAR-10, binary version",
    hash_files=True,
)


def archive() -> Archive:
    """The archive with the files its extraction must produce (read at call time, so tests can patch it)."""
    required = tuple((f"{FOLDER}/{name}", BATCH_BYTES) for name in BATCH_FILES) + ((f"{FOLDER}/{META_FILE}", None),)
    return dataclasses.replace(ARCHIVE, required=required)


def parser() -> argparse.ArgumentParser:
    p = script_parser(PROG, DEFAULT_DEST, __doc__, "The archive (170 MB) is checked against its size and MD5, "
                      "then extracted to DIR/cifar-10-batches-bin, where dataset = \"cifar10\" reads it.")
    add_download_arguments(p)
    return p


def how_to_use(dest: Path, class_folders: Path | None = None) -> str:
    """What to tell the user once CIFAR-10 is in ``dest``: as the binary files (``dest/cifar-10-batches-bin``), or,
    from ``cifar10_from_jpeg.py --layout folder``, as the labelled folder ``class_folders``."""
    if class_folders is None:
        where = (f"{dest / FOLDER}\n  data_batch_1.bin .. data_batch_5.bin: 50,000 training images; "
                 f"test_batch.bin: 10,000 test images")
        in_python = f"\nor, in Python: colorlab.data.load_cifar10(\"{dest}\")"
    else:
        where, in_python = class_folders, ""
    return (f"CIFAR-10 is in {where}\n"
            f"To use it, set dataset = \"cifar10\" (or \"auto\") in a notebook's parameters cell. colorlab reads it "
            f"from the folder in the COLORLAB_DATA environment variable (default data/, found from the directory "
            f"the notebook runs in), so start Jupyter with\n"
            f"  COLORLAB_DATA={dest} jupyter lab{in_python}")


def main(argv=None) -> int:
    args = parser().parse_args(argv)

    def body() -> int:
        result = ensure(archive(), args.dest, url=args.url, local=args.archive, force=args.force,
                        keep_archive=args.keep_archive, retries=args.retries, progress=not args.quiet)
        if result.already_there:
            print(f"CIFAR-10 is already there, checked against {result.dest / ('.' + ARCHIVE.filename)}"
                  f".verified.json; nothing to do (--force extracts it again).")
        print(how_to_use(result.dest))
        return 0

    return run(body, PROG)


if __name__ == "__main__":
    sys.exit(main())
