"""Training throughput and peak memory of each colorlab network on the current device.

    python benchmarks/train_throughput.py [--width 8] [--size 64] [--batch-size 32] [--steps 20]

For each model: images per second of `colorlab.train.fit` (data resident on the
device, batches built there) and the peak memory (CUDA: torch.cuda.max_memory_allocated;
CPU: the process's peak resident set so far). With --dataloader (the default
on a GPU) it also times the same steps fed by a plain torch DataLoader from host
memory, and prints the ratio: how much keeping the data on the device buys.
Both loops run in the same process, one after the other, so the ratio is a fair
comparison on a noisy machine even when the absolute figures are not.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from colorlab.data import LabPairs, load_images
from colorlab.device import default_device, describe_device
from colorlab.losses import mse
from colorlab.models import build_model
from colorlab.train import TrainConfig, _classification_targets, fit


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dataloader_loop(model, data: LabPairs, batch_size: int, steps: int, device) -> float:
    """The usual recipe: host tensors, a shuffling DataLoader, a copy to the device per batch."""
    host = torch.utils.data.TensorDataset(data.l.cpu(), data.ab.cpu())
    loader = torch.utils.data.DataLoader(host, batch_size=batch_size, shuffle=True, drop_last=True,
                                         pin_memory=device.type == "cuda")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.to(device).train()
    done, start = 0, time.perf_counter()
    while done < steps:
        for l, ab in loader:
            l, ab = l.to(device, non_blocking=True), ab.to(device, non_blocking=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
                out = model(l)
                if model.kind == "classification":
                    target, _ = _classification_targets(ab, model.scale, None)
                    loss = -(target * torch.log_softmax(out.float(), 1)).sum(1).mean()
                else:
                    loss = mse(out.float(), ab)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()  # what a typical loop does each step to log the loss
            done += 1
            if done == steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=None, help="network width (default: 8 on CPU, 32 on GPU)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 32 on CPU, 256 on GPU")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--dataloader", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args()

    device = default_device(verbose=True)
    gpu = device.type == "cuda"
    width = args.width or (32 if gpu else 8)
    batch = args.batch_size or (256 if gpu else 32)
    compare = args.dataloader if args.dataloader is not None else gpu
    images = load_images("samples", "train", size=args.size, count=args.images, seed=0)
    data = LabPairs.from_rgb(images, device=device)
    print(f"{describe_device(device)}; torch {torch.__version__}; width {width}, {args.size} px, batch {batch}, "
          f"{args.steps} timed steps after 3 warm-up steps")
    header = f"{'model':<16}{'params':>10}{'images/s':>12}{'peak MB':>10}"
    print(header + (f"{'DataLoader img/s':>18}{'ratio':>8}" if compare else ""))
    for name in ("regression", "classification", "autoencoder"):
        torch.manual_seed(0)
        model = build_model({"name": name, "width": width})
        params = sum(p.numel() for p in model.parameters())
        fit(model, data, TrainConfig(steps=3, batch_size=batch, log_every=3), progress=False)  # warm-up
        if gpu:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        history = fit(model, data, TrainConfig(steps=args.steps, batch_size=batch, log_every=args.steps),
                      progress=False)
        if gpu:
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak = peak_rss_mb()
        rate = history.images_seen / history.seconds
        line = f"{name:<16}{params:>10,}{rate:>12.1f}{peak:>10.0f}"
        if compare:
            baseline = dataloader_loop(build_model({"name": name, "width": width}), data, batch, args.steps, device)
            line += f"{baseline:>18.1f}{rate / baseline:>8.2f}"
        print(line)
    if not gpu:
        print("(CPU peak MB: the process's peak resident memory so far, data set and Python included)")


if __name__ == "__main__":
    main()
