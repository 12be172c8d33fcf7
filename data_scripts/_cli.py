"""The command lines of the data scripts: the arguments they share, and one ``error:`` line for an expected failure."""

from __future__ import annotations

import argparse
import sys

from _common import DownloadError


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


# What every data script promises, at the end of its --help.
GUARANTEES = ("Nothing is used before it is verified, an interrupted run loses nothing (the same command carries "
              "on: a download resumes), and a second run does nothing (--force does it again). The notebooks read "
              "the data from the folder in the COLORLAB_DATA environment variable (default: the nearest data/ "
              "folder, found from the notebook's working directory).")


def script_parser(prog: str, default_dest: str, doc: str, details: str = "") -> argparse.ArgumentParser:
    """A parser with what every data script takes: ``--dest DIR``, ``--force`` and ``--quiet``.

    The description is the first line of the script's docstring ``doc``, so that it says what the script's
    docstring says; the epilog is ``details`` followed by :data:`GUARANTEES`.
    """
    parser = argparse.ArgumentParser(prog=prog, description=(doc or prog).strip().split("\n", 1)[0],
                                     epilog=f"{details} {GUARANTEES}".strip())
    parser.add_argument("--dest", default=default_dest, metavar="DIR",
                        help=f"folder to put the data in (default: {default_dest})")
    parser.add_argument("--force", action="store_true", help="do it again even when the data is already there "
                        "(download if needed, then extract or write again)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of the scripts that download: a mirror, a local archive, keeping it, retries."""
    parser.add_argument("--url", metavar="URL", help="download from this mirror instead of the default URL "
                        "(the file is checked the same way)")
    parser.add_argument("--archive", metavar="PATH", help="use this archive file, already downloaded, instead of "
                        "downloading (checked the same way; never moved or deleted)")
    parser.add_argument("--keep-archive", action="store_true", help="keep the downloaded archive in DIR after "
                        "extracting it (default: delete it; its checksums stay in the stamp file)")
    parser.add_argument("--retries", type=_count, default=3, metavar="N", help="resume a broken download up to N "
                        "times before giving up (default: 3); a later run resumes it too")
