"""Does bf16 autocast train the course's networks as well as float32? A record on real data.

    python benchmarks/bf16_vs_fp32.py                    # CIFAR-10 at the quick size (COLORLAB_DATA, data/)
    python benchmarks/bf16_vs_fp32.py --dataset samples  # the embedded photos
    python benchmarks/bf16_vs_fp32.py --seeds 5          # more runs, a sharper answer (default 3)

``colorlab.train.fit`` trains in bf16 autocast wherever the hardware computes in bf16
(``colorlab.device.fast_bf16``), and it may do so by default only if that changes
nothing a student would see. This trains each network of the course's table
(regression with the L2 loss, Zhang's rebalanced classifier, the palette network) at
the quick size in float32 and in bf16 with each of ``--seeds`` seeds: the two runs of a
seed start from the same weights and see the same batches.

Two kinds of noise set what "the same" can mean. The held-out images: a paired
bootstrap interval over them says whether two *trained networks* differ. The training
run: two float32 runs with different seeds differ by more than that interval (the
record shows it), so whether two *ways of training* differ is a question about the
runs. For each network and measure it prints the mean over the seeds in each precision,
the spread between seeds, and the mean of the per-seed differences bf16 - float32 with
its 95 % t interval over the seeds: "same" when that interval contains 0. Beside it: the
loss curves' distance (mean absolute difference of the logged losses) of bf16 against
float32 and of float32 against float32 with another seed, and the verdicts of the
papers' orderings between these networks in every run. Every run trains the same steps.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from colorlab.color import denormalize_ab, l_ab_to_rgb, normalize_l, rgb_to_l_ab
from colorlab.colorize import colorize_batch
from colorlab.course import setup
from colorlab.data import has_labels
from colorlab.device import fast_bf16
from colorlab.models import PaletteNet, build_model
from colorlab.palette import fast_histogram
from colorlab.results import MEASURES, Claim, ResultsTable, image_scores
from colorlab.train import fit

NETWORKS = {  # the settings notebooks 04, 05 and 06 train them with
    "regression (L2)": dict(model={"name": "regression"}, train=dict(loss="mse", lr=2e-3)),
    "rebalanced classifier": dict(model={"name": "classification"}, train=dict(rebalance=0.5, lr=2e-3)),
    "palette": dict(model={"name": "palette"}, train=dict(lr=2e-3)),
}
PRECISIONS = (("fp32", False), ("bf16", True))


def train(course, network: str, amp: bool, seed: int):
    spec = NETWORKS[network]
    torch.manual_seed(seed)
    if spec["model"]["name"] == "palette":
        model = PaletteNet(width=course.size.width)
    else:
        model = build_model({**spec["model"], "width": course.size.width})
    config = course.train_config(**spec["train"], amp=amp, seed=seed, time_budget=None)
    start = time.perf_counter()
    history = fit(model, course.pairs("train"), config, progress=False)
    return model.eval(), history, time.perf_counter() - start


@torch.no_grad()
def colorize(model, rgb: torch.Tensor) -> torch.Tensor:
    if isinstance(model, PaletteNet):  # with the true palette: what the network does with the right hint
        l, ab = rgb_to_l_ab(rgb)
        out = model(normalize_l(l), palette=fast_histogram(ab))
        return l_ab_to_rgb(l, denormalize_ab(out.float()))
    return colorize_batch(model, rgb, method="annealed", temperature=0.38)


def curve_distance(a, b) -> float:
    n = min(len(a.loss), len(b.loss))
    return sum(abs(x - y) for x, y in zip(a.loss[:n], b.loss[:n])) / max(n, 1)


def claims(run: str, seed: int) -> list[Claim]:
    name = lambda network: f"{network}, {run} seed {seed}"  # noqa: E731
    return [Claim("000", name("regression (L2)"), "lower", "gray", "uv_loss"),
            Claim("Zhang", name("rebalanced classifier"), "higher", name("regression (L2)"), "colorfulness"),
            Claim("001", name("palette"), "lower", name("regression (L2)"), "uv_loss")]


def main() -> None:
    from scipy.stats import t as student_t

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="default: the quick size's")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error(f"--seeds must be at least 2 (the spread between seeds is the yardstick), got {args.seeds}")

    course = setup(dataset=args.dataset, size="quick")
    if args.steps:
        course.size = type(course.size)(**{**course.size.__dict__, "steps": args.steps})
    if not fast_bf16(course.device):
        print(f"note: {course.device} has no fast bf16, so fit trains in float32 there whatever amp says")
    train_pairs = course.pairs("train")
    prior = train_pairs.class_prior().cpu()
    test_rgb = course.test_rgb()
    judge = labels = None
    if args.dataset == "cifar10":
        from colorlab.semantic import reference_judge

        judge, _ = reference_judge("cifar10", device=course.device)
        labels = course.labels("test").to(course.device)
    elif has_labels(args.dataset):
        print("(the semantic column needs colorlab's CIFAR-10 judge; left out here)")

    table = ResultsTable(seed=0)
    l, ab = rgb_to_l_ab(test_rgb)
    table.add("gray", image_scores(l_ab_to_rgb(l, torch.zeros_like(ab)), test_rgb, prior, judge, labels))
    histories, seconds = {}, {}
    print(f"\n{'network':<24}{'run':<14}{'steps':>6}{'seconds':>9}{'final loss':>12}")
    for network in NETWORKS:
        for seed in range(args.seeds):
            for run, amp in PRECISIONS:
                model, history, took = train(course, network, amp, seed)
                histories[network, run, seed], seconds[network, run, seed] = history, took
                final = sum(history.loss[-5:]) / len(history.loss[-5:])
                print(f"{network:<24}{f'{run} seed {seed}':<14}{history.steps_done:>6}{took:>9.1f}{final:>12.5f}",
                      flush=True)
                scores = [image_scores(colorize(model, test_rgb[i:i + 500]), test_rgb[i:i + 500], prior, judge,
                                       None if labels is None else labels[i:i + 500])
                          for i in range(0, len(test_rgb), 500)]
                table.add(f"{network}, {run} seed {seed}", {k: torch.cat([s[k] for s in scores]) for k in scores[0]})
    table.add("truth", image_scores(test_rgb, test_rgb, prior, judge, labels))
    print()
    print(table.format())

    seeds = range(args.seeds)
    print("\nloss curves: mean |difference| of the logged losses (each a mean over 10 steps)")
    for network in NETWORKS:
        precision = [curve_distance(histories[network, "bf16", s], histories[network, "fp32", s]) for s in seeds]
        seed_gap = [curve_distance(histories[network, "fp32", s], histories[network, "fp32", r])
                    for s in seeds for r in seeds if r < s]
        print(f"  {network:<24} bf16 vs fp32, same seed: {statistics.mean(precision):.5f}   "
              f"fp32 vs fp32, another seed: {statistics.mean(seed_gap):.5f}")

    quantile = student_t.ppf(0.975, args.seeds - 1)
    print(f"\nover the {args.seeds} seeds: mean (spread between seeds) in each precision, and bf16 - fp32 with its "
          f"95 % t interval over the seeds:")
    same = True
    for network in NETWORKS:
        for key in table.measures():
            values = {run: [table.mean(f"{network}, {run} seed {s}", key) for s in seeds] for run, _ in PRECISIONS}
            gaps = [b - f for b, f in zip(values["bf16"], values["fp32"])]
            mean_gap = statistics.mean(gaps)
            half = quantile * statistics.stdev(gaps) / args.seeds**0.5
            within = mean_gap - half <= 0 <= mean_gap + half
            same &= within
            digits = MEASURES[key].digits
            cell = lambda v: f"{statistics.mean(v):.{digits}f} ({statistics.stdev(v):.{digits}f})"  # noqa: E731
            print(f"  {'same' if within else 'DIFFERENT':<10}{network:<24}{MEASURES[key].title:<14}"
                  f"fp32 {cell(values['fp32'])}  bf16 {cell(values['bf16'])}  "
                  f"bf16 - fp32 {mean_gap:+.{digits + 1}f} [{mean_gap - half:+.{digits + 1}f}, "
                  f"{mean_gap + half:+.{digits + 1}f}]")

    print("\nthe papers' orderings between these networks, in every run:")
    verdicts = {}
    for seed in seeds:
        for run, _ in PRECISIONS:
            verdicts[run, seed] = [v for _, v in table.check(claims(run, seed))]
    agree = all(verdicts["bf16", s] == verdicts["fp32", s] for s in seeds)
    same &= agree
    print(f"  the verdicts are {'the same' if agree else 'NOT the same'} in bf16 and float32 for every seed")
    speed = statistics.mean(seconds[n, "fp32", s] / seconds[n, "bf16", s] for n in NETWORKS for s in seeds)
    print(f"\nbf16 runs took {1 / speed:.2f}x the time of float32 ones (mean over the runs)")
    print(f"verdict: bf16 {'trains these networks as float32 does' if same else 'DIFFERS from float32'} "
          f"({course.size.steps} steps, {args.seeds} seeds, {len(test_rgb)} held-out images of {args.dataset})")


if __name__ == "__main__":
    main()
