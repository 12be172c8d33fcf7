"""How fast `colorlab.train.fit` trains, against a plain float32 loop and the machine's limit.

    python benchmarks/train_throughput.py                      # the quick size: width 8, 32 px, batch 32
    python benchmarks/train_throughput.py --width 32 --size 64 # the full size's network
    python benchmarks/train_throughput.py --ablate             # also what each of fit's choices buys

For the regression and the classification network it times, in one process and in
alternating rounds (so that a busy machine slows all of them alike and the ratios stay
fair even when the absolute figures do not):

- **plain**: the loop a tutorial writes: the same images resident on the device, the same
  shuffled and mirrored batches, float32, the default memory format, ``torch.optim.Adam``
  with its defaults; the classification loss from ``soft_encode`` of every batch (313
  bins per pixel) and ``soft_cross_entropy``, as notebook 05 teaches.
- **plain, targets precomputed** (classification): the same, with the soft targets made
  once before timing: the network alone, a harder baseline.
- **fit**: ``colorlab.train.fit`` itself (channels_last, bf16 autocast where
  ``fast_bf16``, fused Adam, soft targets once per data set), the same steps.

Each line gives images/s (the median of the rounds, and their range), GFLOP/s (the
floating-point operations of one training step counted by ``torch.utils.flop_counter``
times steps/s) and that as a share of the peak: by default the rate of a large matrix
product in the same precision measured at the start of this run (what this machine's
cores reach on the best-tuned kernel there is), or ``--peak-gflops FP32[,BF16]`` for a
stated figure. ``fit``'s setup (the data set's soft targets and colour prior) is timed
apart: it is paid once per training run.

On a GPU it also times a DataLoader-fed loop (host tensors copied each batch): what
keeping the data on the device buys.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from colorlab.color import denormalize_ab
from colorlab.data import LabPairs, load_images
from colorlab.device import default_device, describe_device, fast_bf16, use_physical_cores
from colorlab.losses import mse, soft_cross_entropy, soft_cross_entropy_sparse
from colorlab.models import build_model
from colorlab.quantize import soft_encode
from colorlab.objectives import soft_targets_of
from colorlab.train import TrainConfig, fit


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device, dtype, n: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of an n x n matrix product in ``dtype``: the practical peak of the device."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def flops_per_step(name: str, width: int, batch: int, size: int) -> int:
    """Floating-point operations of one training step (forward and backward) of the network."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model({"name": name, "width": width}).train()
    l = torch.zeros(batch, 1, size, size)
    with FlopCounterMode(display=False) as counter:
        model(l).float().square().mean().backward()
    return counter.get_total_flops()


def dense_loss(out, ab, out_stride):
    """The classification loss as a first version writes it: 313-bin soft targets of every batch."""
    target = soft_encode(denormalize_ab(F.avg_pool2d(ab, out_stride, ceil_mode=True)))
    return soft_cross_entropy(out, target)


def plain_loop(name, width, data, batch, steps, warmup, precomputed=False, channels_last=False, bf16=False,
               fused=False, sparse=False, seed=0):
    """Images/s of the plain float32 loop (or, for the ablation, with some of fit's choices switched on)."""
    torch.manual_seed(seed)
    device = data.device
    model = build_model({"name": name, "width": width}).to(device).train()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **({"fused": True} if fused else {}))
    classification = model.kind == "classification"
    also = soft_targets_of(data, model.out_stride) if classification and (precomputed or sparse) else ()
    if also and not sparse:  # the dense 313-bin targets, made once
        bins, target = also
        dense = torch.zeros(len(data), 313, *bins.shape[2:], device=device).scatter_(1, bins.long(), target)
        also = (dense,)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def batches():
        while True:
            yield from data.batches(batch, shuffle=True, flip=True, generator=generator, drop_last=True, also=also)

    stream = batches()
    done, start = 0, None
    while done < warmup + steps:
        if done == warmup:
            sync(device)
            start = time.perf_counter()
        l, ab, *extra = next(stream)
        if channels_last:
            l = l.contiguous(memory_format=torch.channels_last)
        with autocast:
            out = model(l)
        if not classification:
            loss = mse(out.float(), ab)
        elif sparse:
            loss = soft_cross_entropy_sparse(out, extra[0], extra[1])
        elif extra:
            loss = soft_cross_entropy(out, extra[0])
        else:
            loss = dense_loss(out, ab, model.out_stride)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done += 1
    sync(device)
    return steps * batch / (time.perf_counter() - start)


def fit_rate(name, width, data, batch, steps, warmup, seed=0):
    """Images/s of fit's loop, and the seconds of its setup (targets and prior, once per run)."""
    torch.manual_seed(seed)
    model = build_model({"name": name, "width": width})
    # a first run builds oneDNN's / cuDNN's kernels for these shapes, as the warm-up of the plain loop does
    fit(model, data, TrainConfig(steps=warmup, batch_size=batch, log_every=warmup, seed=seed), progress=False)
    sync(data.device)
    start = time.perf_counter()
    history = fit(model, data, TrainConfig(steps=steps, batch_size=batch, log_every=steps, seed=seed + 1),
                  progress=False)
    sync(data.device)
    total = time.perf_counter() - start
    return history.images_seen / history.seconds, total - history.seconds


def dataloader_rate(name, width, data, batch, steps, device) -> float:
    """The usual GPU recipe: host tensors, a shuffling DataLoader, a copy to the device per batch."""
    model = build_model({"name": name, "width": width}).to(device).train()
    host = torch.utils.data.TensorDataset(data.l.cpu(), data.ab.cpu())
    loader = torch.utils.data.DataLoader(host, batch_size=batch, shuffle=True, drop_last=True, pin_memory=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    done, start = 0, time.perf_counter()
    while done < steps:
        for l, ab in loader:
            l, ab = l.to(device, non_blocking=True), ab.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16):
                out = model(l)
            loss = dense_loss(out, ab, model.out_stride) if model.kind == "classification" else mse(out.float(), ab)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()  # what a typical loop does each step to log the loss
            done += 1
            if done == steps:
                break
    sync(device)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=8, help="network width (8: the quick size; 32: the full size)")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels (32 quick, 64 full)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 32 on a CPU, 128 on a GPU")
    parser.add_argument("--images", type=int, default=2000, help="training images, resident on the device")
    parser.add_argument("--steps", type=int, default=60, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is reported")
    parser.add_argument("--peak-gflops", default=None,
                        help="the machine's stated peak, FP32[,BF16] GFLOP/s (default: measured matrix products)")
    parser.add_argument("--ablate", action="store_true", help="also time the plain loop with each of fit's choices")
    args = parser.parse_args()

    device = default_device(verbose=True)
    if device.type == "cpu":
        use_physical_cores(verbose=True)
    gpu = device.type == "cuda"
    batch = args.batch_size or (128 if gpu else 32)
    bf16 = fast_bf16(device)
    if args.peak_gflops:
        stated = [float(x) for x in args.peak_gflops.split(",")]
        peak = {"fp32": stated[0], "bf16": stated[-1]}
        peak_source = "stated"
    else:
        peak = {"fp32": matmul_peak(device, torch.float32), "bf16": matmul_peak(device, torch.bfloat16)}
        peak_source = "measured: a 2048 x 2048 matrix product"
    images = load_images("samples", "train", size=args.size, count=args.images, seed=0)
    data = LabPairs.from_rgb(images, device=device)
    print(f"{describe_device(device)}; torch {torch.__version__}; bf16 autocast in fit: {'yes' if bf16 else 'no'}")
    print(f"width {args.width}, {args.size} px, batch {batch}, {len(data)} images; {args.rounds} rounds of "
          f"{args.steps} timed steps after {args.warmup} warm-up steps")
    print(f"peak ({peak_source}): fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s")

    variants = {"plain": dict(), "plain, targets precomputed": dict(precomputed=True)}
    if args.ablate:
        variants.update({
            "plain + channels_last": dict(channels_last=True),
            "plain + bf16": dict(bf16=True),
            "plain + fused Adam": dict(fused=True),
            "plain + sparse targets": dict(sparse=True),
            "plain + all four": dict(channels_last=True, bf16=True, fused=True, sparse=True),
        })
    common = dict(width=args.width, data=data, batch=batch, steps=args.steps, warmup=args.warmup)
    print()
    print(f"{'network':<16}{'loop':<30}{'images/s':>10}{'range':>14}{'GFLOP/s':>9}{'of peak':>9}{'x plain':>9}")
    summary = {}
    for name in ("regression", "classification"):
        flops = flops_per_step(name, args.width, batch, args.size)
        # targets are the classifier's: for regression only the rows that change something else
        wanted = {k: v for k, v in variants.items()
                  if name == "classification" or k not in ("plain, targets precomputed", "plain + sparse targets")}
        rates = {label: [] for label in (*wanted, "fit")}
        setup = []
        for _ in range(args.rounds):
            for label, options in wanted.items():
                rates[label].append(plain_loop(name, **common, **options))
            rate, seconds = fit_rate(name, **common)
            rates["fit"].append(rate)
            setup.append(seconds)
        plain = statistics.median(rates["plain"])
        for label, values in rates.items():
            median = statistics.median(values)
            uses_bf16 = label == "fit" and bf16 or "bf16" in label or "all four" in label
            gflops = flops * median / batch / 1e9
            share = gflops / peak["bf16" if uses_bf16 else "fp32"]
            print(f"{name:<16}{label:<30}{median:>10.0f}{f'{min(values):.0f}-{max(values):.0f}':>14}"
                  f"{gflops:>9.1f}{share:>8.0%} {median / plain:>8.2f}")
        summary[name] = statistics.median(rates["fit"]) / plain
        print(f"{name:<16}{'(fit setup, once per run)':<30}{statistics.median(setup):>9.2f}s;  "
              f"{flops / batch / 1e6:.1f} MFLOP per image per step")
        if gpu:
            loader = dataloader_rate(name, args.width, data, batch, args.steps, device)
            print(f"{name:<16}{'DataLoader-fed, bf16':<30}{loader:>10.0f}{'':>14}{'':>9}{'':>9}"
                  f"{statistics.median(rates['fit']) / loader:>8.2f} (fit / it)")
    print()
    print("fit / plain float32 loop: " + ", ".join(f"{name} {ratio:.2f}x" for name, ratio in summary.items()))
    print("(the share of peak is against fp32 for float32 loops and bf16 for bf16 ones: a small network's "
          "step is mostly memory traffic and per-layer overhead, not arithmetic)")


if __name__ == "__main__":
    main()
