"""Seconds to train each of the course's networks at the quick size, as the notebooks train them.

    python benchmarks/course_training_time.py [--steps 300] [--dataset cifar10]
    PYTHONPATH=/path/to/an/older/checkout python benchmarks/course_training_time.py   # the same, older code

Each network of notebooks 03-06 (the autoencoder, the regression CNN with the L2 and the blur
loss, Zhang's rebalanced classifier, the palette network) is trained for ``--steps`` steps of
the quick size's batches on its training images, and the wall time of the whole call
(set-up included) is printed with the final logged loss. Run it from two checkouts, one
after the other on an idle machine, to see what a change to the training loop buys where
it counts: in the time a notebook waits.
"""

from __future__ import annotations

import argparse
import time

import torch

import colorlab
from colorlab.course import setup
from colorlab.models import PaletteNet, build_model
from colorlab.train import TrainConfig, fit

NETWORKS = (
    ("autoencoder", "mse", dict(loss="mse", lr=2e-3)),
    ("regression", "mse", dict(loss="mse", lr=2e-3)),
    ("regression", "blur", dict(loss="blur", lr=2e-3)),
    ("classification", "rebalanced", dict(rebalance=0.5, lr=2e-3)),
    ("palette", "", dict(lr=2e-3)),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--dataset", default="cifar10")
    args = parser.parse_args()
    course = setup(dataset=args.dataset, size="quick", verbose=False)
    pairs = course.pairs("train")
    print(f"colorlab {colorlab.__version__} from {colorlab.__file__}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {len(pairs)} images of {args.dataset}, width {course.size.width}, "
          f"batch {course.size.batch_size}, {args.steps} steps")
    total = 0.0
    for name, variant, settings in NETWORKS:
        torch.manual_seed(0)
        model = PaletteNet(width=course.size.width) if name == "palette" else build_model(
            {"name": name, "width": course.size.width})
        config = TrainConfig(steps=args.steps, batch_size=course.size.batch_size, **settings)
        start = time.perf_counter()
        history = fit(model, pairs, config, progress=False)
        seconds = time.perf_counter() - start
        total += seconds
        print(f"{name:<16}{variant:<12}{seconds:>7.1f} s   final loss {history.loss[-1]:.4f}", flush=True)
    print(f"{'all five':<28}{total:>7.1f} s")


if __name__ == "__main__":
    main()
