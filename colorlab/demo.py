"""The main job: train two quick colorizers on the embedded photos and compare them.

``colorlab demo`` trains the regression CNN (L2 loss) and the classification
CNN (313 bins, soft targets, rebalanced) on patches of the training photos,
colorizes patches of the held-out photos, and reports UV loss, AuC and
colorfulness for: the gray output, the regressor, and the classifier decoded by
mode, mean and annealed mean, each with its 95 % interval, and checks two
findings the course is built on: the regressor beats gray in UV loss (000,
Table 1), and the annealed mean is more colourful than the regressor (Zhang et
al.); each verdict (agrees, DIFFERS, within noise) comes from the interval.

Both networks train the same number of steps (a time limit is only a safety net
for a busy machine, and a cut run is footnoted). On a CPU it takes a few minutes;
on a GPU it trains a wider network on more data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .color import l_ab_to_rgb, normalize_l, rgb_to_l_ab
from .colorize import predict_ab
from .data import LabPairs, load_images
from .device import default_device, describe_device, is_gpu, seed_everything
from .results import TRUTH, Claim, ResultsTable, image_scores
from .models import build_model
from .quantize import LI_WANG_TEMPERATURE, ZHANG_TEMPERATURE
from .train import TrainConfig, fit


@dataclass
class DemoSize:
    """How big the demo is on a given device."""

    width: int
    patch: int
    train_count: int
    test_count: int
    batch_size: int
    seconds_per_model: float  # a safety net for a busy machine; training ends by ``steps``
    steps: int = 500  # optimiser steps of each network: the compared networks train equally long


# 500 steps of 32 patches take about 90 s (regression) and 70 s (classification) on an idle 2-core CPU.
CPU_SIZE = DemoSize(width=8, patch=64, train_count=2000, test_count=1000, batch_size=32, seconds_per_model=240,
                    steps=500)
GPU_SIZE = DemoSize(width=32, patch=96, train_count=20000, test_count=2000, batch_size=128, seconds_per_model=240,
                    steps=3000)


def run_demo(out: str | Path = "out", size: DemoSize | None = None, device: torch.device | None = None,
             seed: int = 0, progress: bool = True):
    """Train, evaluate, write ``out/demo.png``; return the :class:`colorlab.results.ResultsTable`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .cli import _save_figure
    from .viz import image_grid

    start = time.perf_counter()
    device = device or default_device(verbose=True)
    size = size or (GPU_SIZE if is_gpu(device) else CPU_SIZE)
    seed_everything(seed)
    print(f"demo on {describe_device(device)}: width {size.width}, {size.train_count} training patches of "
          f"{size.patch} px, {size.steps} steps per model")

    train_images = load_images("samples", "train", size=size.patch, count=size.train_count, seed=seed)
    test_images = load_images("samples", "test", size=size.patch, count=size.test_count, seed=seed + 1)
    data = LabPairs.from_rgb(train_images, device=device)
    truth = test_images.to(device).float() / 255.0
    l_test, _ = rgb_to_l_ab(truth)
    l_norm = normalize_l(l_test)

    models, cut = {}, {}
    for name in ("regression", "classification"):
        model = build_model({"name": name, "width": size.width})
        config = TrainConfig(steps=size.steps, batch_size=size.batch_size, lr=2e-3 if name == "regression" else 1e-3,
                             time_budget=size.seconds_per_model, seed=seed)
        history = fit(model, data, config, progress=progress)
        final = f", final training loss {history.loss[-1]:.4f}" if history.loss else ""
        print(f"  {name}: {history.steps_done} steps in {history.seconds:.0f} s{final}")
        if history.steps_done < size.steps:
            cut[name] = (f"trained {history.steps_done} of {size.steps} steps (cut by the {size.seconds_per_model:.0f} s "
                         f"limit on a busy machine): not comparable with the other network")
        models[name] = model

    def rgb_from(ab: torch.Tensor) -> torch.Tensor:
        return l_ab_to_rgb(l_test, ab.to(l_test.dtype))

    outputs = {
        "gray output": rgb_from(torch.zeros_like(truth[:, :2])),
        "regression (L2)": rgb_from(predict_ab(models["regression"], l_norm)),
        "classification: mode": rgb_from(predict_ab(models["classification"], l_norm, "mode")),
        "classification: mean": rgb_from(predict_ab(models["classification"], l_norm, "mean")),
        f"annealed mean T={LI_WANG_TEMPERATURE}": rgb_from(
            predict_ab(models["classification"], l_norm, "annealed", LI_WANG_TEMPERATURE)),
        f"annealed mean T={ZHANG_TEMPERATURE}": rgb_from(
            predict_ab(models["classification"], l_norm, "annealed", ZHANG_TEMPERATURE)),
    }
    table = ResultsTable(seed=seed)
    _, true_ab = rgb_to_l_ab(truth)
    for name, rgb in {**outputs, TRUTH: truth}.items():
        scores = image_scores(rgb, truth, true_ab=true_ab)
        table.add(name, {k: scores[k] for k in ("uv_loss", "auc", "colorfulness")})
        network = "regression" if name.startswith("regression") else "classification"
        if network in cut and name not in ("gray output", TRUTH):
            table.note(name, cut[network])
    print()
    print(f"held-out photos, {len(truth)} patches of {size.patch} px:")
    print(table)
    print()
    table.check([Claim("Zhu et al. (000)", "regression (L2)", "lower", "gray output", "uv_loss"),
                 Claim("Zhang et al.", f"annealed mean T={ZHANG_TEMPERATURE}", "higher", "regression (L2)",
                       "colorfulness")])

    shown = [0, len(truth) // 3, 2 * len(truth) // 3, len(truth) - 1]
    columns = ["input L", "gray", "regression", "class. mode", f"annealed T={ZHANG_TEMPERATURE}", "truth"]
    keys = ["gray output", "regression (L2)", "classification: mode", f"annealed mean T={ZHANG_TEMPERATURE}"]
    # the first column is L as the network gets it (L / 100 as gray levels)
    grid = [[l_test[i].expand(3, -1, -1) / 100.0] + [outputs[k][i] for k in keys] + [truth[i]] for i in shown]
    fig = image_grid(grid, column_titles=columns)
    path = _save_figure(fig, Path(out) / "demo.png")
    plt.close(fig)
    print(f"\nwrote {path}; the whole demo took {time.perf_counter() - start:.0f} s")
    return table
