"""Notebook 01's red-or-green regressor over several seeds, in float32 and bf16: does it land on the halfway colour?

    python benchmarks/red_or_green_seeds.py [--seeds 4] [--dataset cifar10]
    python benchmarks/red_or_green_seeds.py --keep-running-averages   # fit's batch norms as they were before

Half the images red, half green, the same lightness: a regressor cannot know which, and with the
L2 loss its best answer is the halfway colour (a, b) = (0, 27.5). This trains notebook 01's
network (300 steps, lr 3e-3) with each seed in both precisions and prints where its mean
prediction lands in eval mode. With ``--keep-running-averages`` the batch norms keep the running
averages of training instead of the statistics ``fit`` recomputes for the final weights
(:func:`colorlab.train.recompute_batch_norm`): the lag that made 1 seed in 4 land far off in bf16.
"""

from __future__ import annotations

import argparse

import torch

import colorlab.train as train
from colorlab.color import normalize_l, rgb_to_l_ab
from colorlab.colorize import predict_ab
from colorlab.course import setup
from colorlab.data import GREEN_AB, RED_AB, LabPairs, paint_red_or_green, to_float_image
from colorlab.models import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--keep-running-averages", action="store_true")
    args = parser.parse_args()
    if args.keep_running_averages:
        train.recompute_batch_norm = lambda model, *args, **kwargs: model.eval()
    course = setup(dataset=args.dataset, size="quick", verbose=False)
    images = paint_red_or_green(course.images("train")[:512])  # notebook 01's images
    pairs = LabPairs.from_rgb(images, device=course.device)
    l, _ = rgb_to_l_ab(to_float_image(images[:64]).to(course.device))
    halfway = (RED_AB + GREEN_AB) / 2
    print(f"halfway colour {tuple(halfway.tolist())}; batch norms: "
          f"{'running averages' if args.keep_running_averages else 'recomputed for the final weights'}")
    for amp in (False, True):
        landed = []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            model = build_model({"name": "regression", "width": course.size.width})
            train.fit(model, pairs, course.train_config(steps=300, lr=3e-3, amp=amp, seed=seed, time_budget=None),
                      progress=False)
            with torch.no_grad():
                mean = predict_ab(model, normalize_l(l)).mean(dim=(0, 2, 3)).cpu()
            far = float((mean - halfway).norm())
            landed.append(f"({mean[0]:+.0f}, {mean[1]:+.0f}){' FAR' if far > 10 else ''}")
        print(f"{'bf16' if amp else 'fp32'}: " + "  ".join(landed), flush=True)


if __name__ == "__main__":
    main()
