"""The ``colorlab`` command.

``colorlab tour`` prints the device, loads the embedded photos and writes a figure
of them in RGB, L, a and b. Run ``colorlab --help`` for the list of commands.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _save_figure(fig, path: Path) -> Path:
    """Write a figure to a temporary name and rename it, so a crash never leaves half a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fig.savefig(tmp, dpi=100, format=path.suffix.lstrip(".") or "png")
    os.replace(tmp, path)
    return path


def cmd_tour(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import __version__
    from .data import TEST_PHOTOS, TRAIN_PHOTOS, embedded_photos
    from .device import default_device
    from .viz import lab_channels_figure

    start = time.perf_counter()
    print(f"colorlab {__version__}")
    default_device(verbose=True)
    photos = embedded_photos("all")
    print(f"{len(photos)} embedded photos (shipped inside scikit-image, scikit-learn and matplotlib; no download):")
    for name, photo in photos.items():
        split = "train" if name in TRAIN_PHOTOS else "test" if name in TEST_PHOTOS else "?"
        print(f"  {name:<22} {photo.shape[1]:>5} x {photo.shape[0]:<5} {split}")
    fig = lab_channels_figure(photos)
    out = _save_figure(fig, Path(args.out) / "tour_lab_channels.png")
    plt.close(fig)
    print(f"wrote {out} (each photo as RGB | L | a | b) in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .demo import CPU_SIZE, GPU_SIZE, run_demo
    from .device import default_device, is_gpu

    device = default_device(verbose=True)
    size = GPU_SIZE if is_gpu(device) else CPU_SIZE
    if args.seconds is not None:
        size = replace(size, seconds_per_model=args.seconds)
    run_demo(args.out, size=size, device=device, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorlab", description="A course on automatic image colorization.")
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="print the device, load the embedded photos, draw them in RGB, L, a, b")
    tour.add_argument("--out", default="out", help="folder for the figure (default: out/)")
    tour.set_defaults(func=cmd_tour)
    demo = sub.add_parser("demo", help="train quick regression and classification colorizers and compare them")
    demo.add_argument("--out", default="out", help="folder for the figure (default: out/)")
    demo.add_argument("--seconds", type=float, default=None, help="training time per model (default: 90)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        # bad input is the user's to fix: one clear line, not a traceback
        print(f"colorlab {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
