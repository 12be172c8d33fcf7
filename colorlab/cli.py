"""The ``colorlab`` command.

``colorlab demo`` is the main job (train quick colorizers and compare them),
``colorlab tour`` prints the device and draws the embedded photos in RGB, L, a and b,
``colorlab train`` trains a model to a checkpoint, ``colorlab colorize`` applies it
to photos and ``colorlab evaluate`` scores checkpoints on held-out images (UV loss,
AuC, colorfulness, the semantic test of Li and Wang). Run ``colorlab --help`` for the options.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path


def cmd_tour(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import __version__
    from .data import TEST_PHOTOS, TRAIN_PHOTOS, embedded_photos
    from .device import default_device
    from .files import save_figure
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
    out = save_figure(fig, Path(args.out) / "tour_lab_channels.png")
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
        size = replace(size, seconds=args.seconds)
    if args.steps is not None:
        size = replace(size, steps=args.steps)
    run_demo(args.out, size=size, device=device, seed=args.seed)
    return 0


def output_names(inputs: list[str]) -> dict[Path, str]:
    """A distinct output file name for every distinct input: ``NAME_color.png``, or, where two inputs share a
    stem (``a/photo.jpg``, ``b/photo.jpg``, ``photo.png``), ``NAME_EXT_color.png`` and then ``NAME_2_color.png``...
    The same file given twice is colorized once."""
    unique = list(dict.fromkeys(Path(p) for p in inputs))
    stems: dict[str, int] = {}
    for path in unique:
        stems[path.stem.lower()] = stems.get(path.stem.lower(), 0) + 1
    names, taken = {}, set()
    for path in unique:
        candidates = [f"{path.stem}_color.png"] if stems[path.stem.lower()] == 1 else []
        candidates.append(f"{path.stem}_{path.suffix.lstrip('.') or 'noext'}_color.png")
        candidates += [f"{path.stem}_{n}_color.png" for n in range(2, len(unique) + 2)]
        name = next(c for c in candidates if c.lower() not in taken)  # case-insensitive file systems too
        taken.add(name.lower())
        names[path] = name
    return names


def cmd_colorize(args: argparse.Namespace) -> int:
    from .files import save_png
    from tqdm.auto import tqdm

    from .colorize import colorize
    from .device import default_device
    from .checkpoints import load_checkpoint

    # -- the numbers and the output folder, before the checkpoint or any photo is read
    if not (args.work_size >= 16):
        raise ValueError(f"--work-size must be at least 16 pixels (the network sees the photo at that size), "
                         f"got {args.work_size}.")
    _positive_number(args.temperature, "--temperature")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is a file; give a folder for the colorized photos.")
    _check_output_file(str(out_dir / "x_color.png"), "--out")
    names = output_names(args.inputs)
    device = default_device(verbose=True)
    model = load_checkpoint(args.checkpoint, device=device)["model"]
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = []
    for path, name in tqdm(names.items(), desc="colorizing", unit="photo"):
        try:
            rgb = colorize(path, model, temperature=args.temperature, method=args.method, work_size=args.work_size)
        except (ValueError, FileNotFoundError, OSError) as err:
            # one bad file must not cost the others: report it and go on
            failed.append((path, str(err)))
            tqdm.write(f"skipped {path}: {err}")
            continue
        target = out_dir / name
        if name != f"{path.stem}_color.png":
            tqdm.write(f"{path} -> {target} (another input has the same name)")
        try:
            save_png(rgb, target)
        except OSError as err:
            failed.append((path, str(err)))
            tqdm.write(f"could not write {target}: {err}")
    done = len(names) - len(failed)
    print(f"colorized {done} of {len(names)} photos into {out_dir}" + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0  # as cp and convert do: any failure is a failure


def cmd_train(args: argparse.Namespace) -> int:
    """Train to a checkpoint; under ``torchrun`` with several processes, data-parallel (see colorlab.distributed)."""
    from . import distributed

    info = distributed.init_from_env(verbose=True)  # a single process unless torchrun started several
    try:
        return _train(args, info)
    finally:
        distributed.cleanup()


def _check_output_file(path: str, flag: str) -> None:
    """Refuse, before any work, an output file that cannot be written: one clear line (a ValueError)."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{flag} {path} is a folder; give a file name, e.g. {flag} {target / 'model.pt'}.")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {path}: {parent} is a file, not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: cannot write in {parent} (permission denied); choose another place.")


def _positive_number(value, flag: str) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{flag} must be a positive number, got {value}.")


def _train(args: argparse.Namespace, info) -> int:
    from ._validate import whole_number
    from .checkpoints import read_checkpoint
    from .data import LabPairs, load_images
    from .device import seed_everything
    from .models import build_model
    from .train import TrainConfig, TrainingInterrupted, changed_settings, fit

    # -- every argument and the output path, before any data is read or any step trained
    for flag, value in (("--width", args.width), ("--steps", args.steps), ("--batch-size", args.batch_size),
                        ("--size", args.size), ("--count", args.count), ("--halve-every", args.halve_every)):
        if value is not None or flag not in ("--count", "--halve-every"):  # those two may be left out
            whole_number(value, flag)
    _positive_number(args.lr, "--lr")
    if args.seconds is not None and not (args.seconds >= 0):
        raise ValueError(f"--seconds must be a number of seconds >= 0, got {args.seconds}.")
    _check_output_file(args.out, "--out")
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, loss=args.loss,
                         rebalance=None if args.rebalance < 0 else args.rebalance, halve_every=args.halve_every,
                         time_budget=args.seconds, seed=args.seed, amp=args.amp)
    model_config = {"name": args.model, "width": args.width}
    if args.resume and Path(args.out).is_file():
        saved = read_checkpoint(args.out)
        changed = changed_settings(saved.get("train_config") or {}, config)
        if dict(saved["model_config"]) != model_config:
            changed.insert(0, f"model {dict(saved['model_config'])} -> {model_config}")
        if changed:
            raise ValueError(f"--resume: {args.out} was trained with other settings ({'; '.join(changed)}); "
                             f"use the settings it was trained with (only --steps and --seconds may change), "
                             f"or train to a new --out.")

    say = print if info.is_main else (lambda *_, **__: None)  # only process 0 talks
    seed_everything(args.seed)  # the same seed everywhere: every process builds the same initial weights
    images = load_images(args.data, "train", size=args.size, count=args.count, seed=args.seed)
    where = ""
    if info.enabled:
        where = (f" in {info.world_size} processes ({info.backend}) of about {len(images) // info.world_size} "
                 f"images each, batch {args.batch_size} per process")
    say(f"training {args.model} (width {args.width}) on {len(images)} images of {args.size} px from {args.data!r}"
        f"{where}")
    if info.enabled:
        images = images[info.rank :: info.world_size]  # this process's shard: only it goes to the device
    data = LabPairs.from_rgb(images, device=info.device)
    model = build_model(model_config)
    try:
        history = fit(model, data, config, checkpoint=args.out, resume=args.resume, progress=info.is_main,
                      shard=False)
    except TrainingInterrupted as stop:
        say(f"colorlab train: {stop} (the same command with --resume continues it)")
        return 128 + stop.signal_number if stop.signal_number else 130
    last = f", last loss {history.loss[-1]:.4f}" if history.loss else ""
    say(f"{history.steps_done} steps, {history.images_seen} images in {history.seconds:.0f} s{last}; wrote {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .device import default_device
    from .evaluate import GRAY, TRUTH, evaluate_checkpoints, format_table, paper_claims, save_json

    device = default_device(verbose=True)
    print(f"evaluating {len(args.checkpoints)} checkpoint(s) on the held-out images of {args.data!r}")
    rows = evaluate_checkpoints(args.checkpoints, data=args.data, size=args.size, count=args.count, device=device,
                                semantic_steps=args.semantic_steps, judge=args.judge, temperatures=args.temperatures, seed=args.seed,
                                batch_size=args.batch_size, train_count=args.train_count, log=print)
    info = rows.info
    print()
    print(f"{info['test_images']} held-out images of {info['size']} px from {info['data']!r}, on {info['device']}; "
          f"rows {GRAY!r} (the photo's own L, no colour) and {TRUTH!r} (the true colours) frame the methods:")
    print()
    print(format_table(rows))
    semantic = info["semantic"]
    print()
    if "skipped" in semantic:
        print(f"semantic test skipped: {semantic['skipped']}.")
    else:
        who = semantic.get("judge", "trained here")
        print(f"semantic: a {semantic['classes']}-class judge ({who}) trained on {semantic['teaching_images']} colour "
              f"images for {semantic['steps']} steps; always guessing the commonest class scores "
              f"{semantic['chance']:.3f}.")
    claims = paper_claims([r.method for r in rows], rows.table.measures())
    if claims:
        print()
        print("the papers' orderings, each judged by the 95 % interval of the paired difference:")
        rows.table.check(claims)
    if args.json:
        print(f"wrote {save_json(rows, args.json)}")
    print(f"took {info['seconds']:.0f} s")
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    import hashlib
    import json

    from .device import default_device
    from .files import write_text
    from .semantic import make_judge, save_judge

    out = Path(args.out)
    record_path = out.with_suffix(".json")
    if out.is_dir() or not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise ValueError(f"--out must be a file path in an existing folder, got {out}.")
    device = default_device(verbose=True)
    judge, record = make_judge(args.data, steps=args.steps, width=args.width, convs=args.convs,
                               batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=device)
    save_judge(out, judge)
    record["command"] = " ".join(["colorlab judge"] + [f"--{k.replace('_', '-')} {v}" for k, v in (
        ("data", args.data), ("steps", args.steps), ("width", args.width), ("convs", args.convs),
        ("batch_size", args.batch_size), ("lr", args.lr), ("seed", args.seed), ("out", args.out))])
    if args.data_note:
        record["data_note"] = args.data_note
    record["sha256"] = hashlib.sha256(out.read_bytes()).hexdigest()
    write_text(record_path, json.dumps(record, indent=2) + "\n")
    print(f"wrote {out} and its record {record_path} (sha256 {record['sha256'][:16]}...)")
    return 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    from .student_notebooks import build_notebooks

    report = build_notebooks(args.solutions, args.notebooks, check=args.check)
    total = sum(report.exercises.values())
    if args.check and report.up_to_date:
        print(f"{args.notebooks}/ is up to date with {args.solutions}/ ({len(report.exercises)} notebooks, "
              f"{total} exercises).")
        return 0
    # what each kind of change is called when it is only found (--check), and when it is made
    said = {"stripped": ("  {}: holds outputs or old opening cells (badges, install cell)",
                         "cleared the outputs or wrote the opening cells of {}"),
            "written": ("  {}: out of date", "wrote {}"),
            "removed": ("  {}: has no solution notebook", "removed {} (its solution notebook is gone)")}
    for kind, (found, made) in said.items():
        for path in getattr(report, kind):
            print((found if args.check else made).format(path))
    if args.check:
        print("run `colorlab notebooks` to regenerate the student notebooks.")
        return 1
    print(f"{len(report.exercises)} notebooks, {total} exercises; "
          f"{'nothing to do' if report.up_to_date else 'done'}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorlab", description="A course on automatic image colorization.")
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="print the device, load the embedded photos, draw them in RGB, L, a, b")
    tour.add_argument("--out", default="out", help="folder for the figure (default: out/)")
    tour.set_defaults(func=cmd_tour)
    demo = sub.add_parser("demo", help="train quick regression and classification colorizers and compare them")
    demo.add_argument("--out", default="out", help="folder for the figure (default: out/)")
    demo.add_argument("--steps", type=int, default=None, help="training steps per model (default: 500 on a CPU)")
    demo.add_argument("--seconds", type=float, default=None,
                      help="safety-net time limit per model (default: 135 on a CPU, 240 on a GPU); "
                           "a cut run is footnoted in the table")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)

    col = sub.add_parser("colorize", help="colorize photos with a trained checkpoint")
    col.add_argument("inputs", nargs="+", metavar="IN", help="photos (any size and mode)")
    col.add_argument("--checkpoint", required=True, help="a checkpoint written by `colorlab train`")
    col.add_argument("--out", required=True, help="folder for the colorized photos (NAME_color.png)")
    col.add_argument("--temperature", type=float, default=0.38, help="annealed-mean temperature (default 0.38)")
    col.add_argument("--method", choices=["annealed", "mode", "mean"], default="annealed",
                     help="decoding of a classification model (default: annealed)")
    col.add_argument("--work-size", type=int, default=256, help="longer side the network sees (default 256)")
    col.set_defaults(func=cmd_colorize)

    tr = sub.add_parser("train", help="train a colorizer to a checkpoint",
                        description="Train a colorizer to a checkpoint. Under torchrun (e.g. `torchrun "
                                    "--nproc_per_node=4 -m colorlab.cli train ...`) every process trains on its own "
                                    "shard with DistributedDataParallel and process 0 writes the checkpoint.")
    tr.add_argument("--model", choices=["regression", "classification", "autoencoder"], default="classification")
    tr.add_argument("--width", type=int, default=16, help="channel width (64 is the paper's network)")
    tr.add_argument("--data", default="samples", help="'samples' (embedded photos), 'cifar10', or a folder of photos")
    tr.add_argument("--size", type=int, default=64, help="image size in pixels (32 for cifar10)")
    tr.add_argument("--count", type=int, default=None, help="number of training images (default: all / 1000 patches)")
    tr.add_argument("--steps", type=int, default=1000)
    tr.add_argument("--batch-size", type=int, default=32, help="images per step (per process under torchrun)")
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--loss", choices=["mse", "smooth_l1", "blur"], default="mse", help="regression loss")
    tr.add_argument("--rebalance", type=float, default=0.5, help="classification: lambda (negative: no rebalancing)")
    tr.add_argument("--halve-every", type=int, default=None, help="halve the learning rate every N steps (as Zhu et al. did)")
    tr.add_argument("--seconds", type=float, default=None, help="stop after this many seconds of training")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                    help="bf16 autocast where the hardware computes in bf16: CUDA, CPUs with AVX-512 BF16 or AMX "
                         "(default; --no-amp trains in float32)")
    tr.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    tr.add_argument("--out", required=True, help="the checkpoint to write (e.g. runs/cls.pt)")
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="score checkpoints on held-out images: UV loss, AuC, colorfulness, semantic",
                        description="Score checkpoints written by `colorlab train` on the test split of a data set, "
                                    "next to the gray output and the truth: UV loss (Zhu et al.), AuC and rebalanced AuC "
                                    "(Zhang; prior from the training images), colorfulness (Hasler and Suesstrunk) "
                                    "and the semantic test of Li and Wang (a small classifier trained on colour images, fed "
                                    "each row's images). A classification network gives a row per decoding: mode, "
                                    "mean and the annealed mean at each --temperatures. Prints a Markdown table.")
    ev.add_argument("checkpoints", nargs="+", metavar="CKPT", help="checkpoints written by `colorlab train`")
    ev.add_argument("--data", default="samples", help="'samples' (embedded photos), 'cifar10', or a folder of photos "
                                                      "(a folder has no labels: no semantic test)")
    ev.add_argument("--size", type=int, default=None, help="image size in pixels (default: 32 for cifar10, else 64)")
    ev.add_argument("--count", type=int, default=None,
                    help="held-out images (default: all 10,000 of cifar10 / 1000 patches / all test photos)")
    ev.add_argument("--train-count", type=int, default=None,
                    help="training images for the prior and cifar10's semantic classifier (default: all / 1000)")
    ev.add_argument("--semantic-steps", type=int, default=400,
                    help="training steps of a semantic judge trained here, batch 128 (default 400; 0 skips the test)")
    ev.add_argument("--judge", choices=["auto", "reference", "train"], default="auto",
                    help="the semantic judge: auto (colorlab's reference judge for cifar10, else one trained here), "
                         "reference, or train")
    ev.add_argument("--temperatures", type=float, nargs="+", default=[0.38, 0.89], metavar="T",
                    help="annealed-mean temperatures (default: 0.38 0.89, Zhang's and Li and Wang's)")
    ev.add_argument("--batch-size", type=int, default=256, help="images colorized at a time (default 256)")
    ev.add_argument("--json", default=None, metavar="PATH", help="also write the table and its settings as JSON")
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=cmd_evaluate)

    jd = sub.add_parser("judge", help="train the semantic test's judge (Li and Wang) on colour images and record it",
                        description="Train the classifier of Li and Wang's semantic test on the colour training images of a "
                                    "labelled data set, measure it on the true and gray test images, and write it "
                                    "with a JSON record (data, settings, accuracy, sha256). colorlab's reference "
                                    "judge (colorlab/judges/cifar10_judge.pt) was made by this command.")
    jd.add_argument("--data", default="cifar10", help="'cifar10' or a labelled folder (train/ and test/ of classes)")
    jd.add_argument("--steps", type=int, default=3000)
    jd.add_argument("--width", type=int, default=32)
    jd.add_argument("--convs", type=int, default=2, help="convolutions per stage (default 2)")
    jd.add_argument("--batch-size", type=int, default=128)
    jd.add_argument("--lr", type=float, default=0.1, help="peak learning rate of SGD (default 0.1)")
    jd.add_argument("--seed", type=int, default=0)
    jd.add_argument("--data-note", default=None, help="a line recorded with the judge: which copy of the data")
    jd.add_argument("--out", required=True, help="the judge's checkpoint (its record goes beside it, .json)")
    jd.set_defaults(func=cmd_judge)

    nbs = sub.add_parser("notebooks", help="make the student notebooks (notebooks/) from the solutions (solutions/)",
                         description="Every '### BEGIN SOLUTION' .. '### END SOLUTION' block becomes '# YOUR CODE "
                                     "HERE' + 'raise NotImplementedError'; outputs are cleared, also in solutions/.")
    nbs.add_argument("--solutions", default="solutions", help="the solution notebooks (default: solutions/)")
    nbs.add_argument("--notebooks", default="notebooks", help="where the student notebooks go (default: notebooks/)")
    nbs.add_argument("--check", action="store_true", help="change nothing; exit 1 if notebooks/ is out of date")
    nbs.set_defaults(func=cmd_notebooks)
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
