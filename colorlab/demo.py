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
from pathlib import Path

import torch

from .color import rgb_to_gray, rgb_to_l_ab
from .colorize import colorize_batch, colorize_decodings
from .course import CourseSize
from .data import LabPairs, load_images
from .device import default_device, describe_device, is_gpu, seed_everything
from .files import save_figure
from .models import build_model
from .quantize import LI_WANG_TEMPERATURE, ZHANG_TEMPERATURE
from .results import TRUTH, Claim, ResultsTable, score_outputs
from .train import TrainConfig, fit

# The demo's sizes are the course's kind of size with the demo's own numbers: larger patches than the
# notebooks' quick size, fewer steps (500 steps of 32 patches take about 90 s (regression) and 70 s
# (classification) on an idle 2-core CPU); ``seconds`` is only a safety net for a busy machine.
CPU_SIZE = CourseSize("demo on a CPU", patch=64, train_count=2000, test_count=1000, width=8, batch_size=32,
                      steps=500, seconds=240.0)
GPU_SIZE = CourseSize("demo on a GPU", patch=96, train_count=20000, test_count=2000, width=32, batch_size=128,
                      steps=3000, seconds=240.0)

REGRESSION = "regression (L2)"
DECODINGS = {  # the classification network's rows: name -> (decoding method, temperature)
    "classification: mode": ("mode", 1.0),
    "classification: mean": ("mean", 1.0),
    f"annealed mean T={LI_WANG_TEMPERATURE}": ("annealed", LI_WANG_TEMPERATURE),
    f"annealed mean T={ZHANG_TEMPERATURE}": ("annealed", ZHANG_TEMPERATURE),
}


def _train(name: str, data: LabPairs, size: CourseSize, seed: int, progress: bool):
    """One network trained ``size.steps`` steps; returns it and a footnote when the time limit cut it short."""
    model = build_model({"name": name, "width": size.width})
    config = TrainConfig(steps=size.steps, batch_size=size.batch_size, lr=2e-3 if name == "regression" else 1e-3,
                         time_budget=size.seconds, seed=seed)
    history = fit(model, data, config, progress=progress)
    final = f", final training loss {history.loss[-1]:.4f}" if history.loss else ""
    print(f"  {name}: {history.steps_done} steps in {history.seconds:.0f} s{final}")
    cut = None
    if history.steps_done < size.steps:
        cut = (f"trained {history.steps_done} of {size.steps} steps (cut by the {size.seconds:.0f} s "
               f"limit on a busy machine): not comparable with the other network")
    return model, cut


def run_demo(out: str | Path = "out", size: CourseSize | None = None, device: torch.device | None = None,
             seed: int = 0, progress: bool = True) -> ResultsTable:
    """Train, evaluate, write ``out/demo.png``; return the :class:`colorlab.results.ResultsTable`.

    ``size``: :data:`CPU_SIZE` or :data:`GPU_SIZE` (by the device) unless given; ``size.seconds`` is
    each network's time limit.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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

    regressor, regressor_cut = _train("regression", data, size, seed, progress)
    classifier, classifier_cut = _train("classification", data, size, seed, progress)
    outputs = {"gray output": rgb_to_gray(truth), REGRESSION: colorize_batch(regressor, truth),
               **colorize_decodings(classifier, truth, DECODINGS), TRUTH: truth}
    notes = {REGRESSION: regressor_cut, **{name: classifier_cut for name in DECODINGS}}
    table = score_outputs(outputs, truth, notes=notes, seed=seed)
    print()
    print(f"held-out photos, {len(truth)} patches of {size.patch} px:")
    print(table)
    print()
    table.check([Claim("Zhu et al. (000)", REGRESSION, "lower", "gray output", "uv_loss"),
                 Claim("Zhang et al.", f"annealed mean T={ZHANG_TEMPERATURE}", "higher", REGRESSION,
                       "colorfulness")])

    shown = [0, len(truth) // 3, 2 * len(truth) // 3, len(truth) - 1]
    columns = ["input L", "gray", "regression", "class. mode", f"annealed T={ZHANG_TEMPERATURE}", "truth"]
    keys = ["gray output", REGRESSION, "classification: mode", f"annealed mean T={ZHANG_TEMPERATURE}", TRUTH]
    l_test, _ = rgb_to_l_ab(truth)
    # the first column is L as the network gets it (L / 100 as gray levels)
    grid = [[l_test[i].expand(3, -1, -1) / 100.0] + [outputs[k][i] for k in keys] for i in shown]
    fig = image_grid(grid, column_titles=columns)
    path = save_figure(fig, Path(out) / "demo.png")
    plt.close(fig)
    print(f"\nwrote {path}; the whole demo took {time.perf_counter() - start:.0f} s")
    return table
