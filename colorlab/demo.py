"""The main job: train two quick colorizers on the embedded photos and compare them.

``colorlab demo`` trains the regression CNN (L2 loss) and the classification
CNN (313 bins, soft targets, rebalanced) on patches of the training photos,
colorizes patches of the held-out photos, and reports UV loss, AuC and
colorfulness for: the gray output, the regressor, and the classifier decoded by
mode, mean and annealed mean, each with its 95 % interval, and checks two
findings the course is built on: the regressor beats gray in UV loss (000,
Table 1), and the annealed mean is more colourful than the regressor (Zhang et
al.); each verdict (agrees, DIFFERS, within noise) comes from the interval.
``out/demo.png`` shows the held-out photos whole, colorized at their full
resolution by both networks, beside the patches the table scores.

Both networks train the same number of steps, each from the same seed, so two
runs on one machine print the same table bit for bit; a time limit is only a
safety net for a busy machine, and a run it cuts is footnoted. On a 2-core CPU
it takes about two minutes; on a GPU it trains a wider network on more data.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from .color import rgb_to_gray
from .colorize import colorize, colorize_batch, colorize_decodings
from .course import CourseSize
from .data import TEST_PHOTOS, LabPairs, load_images, load_labelled_images, load_photo
from .device import default_device, describe_device, is_gpu, seed_everything
from .files import save_figure
from .metrics import colorfulness
from .models import build_model
from .quantize import LI_WANG_TEMPERATURE, ZHANG_TEMPERATURE
from .results import TRUTH, Claim, ResultsTable, score_outputs
from .train import TrainConfig, fit

# The demo's sizes are the course's kind of size with the demo's own numbers: larger patches than the
# notebooks' quick size, fewer steps (500 steps of 32 patches take about 90 s (regression) and 70 s
# (classification) on an idle 2-core CPU). ``seconds`` is each network's safety net for a busy machine:
# above what an idle 2-core CPU needs, so that it never cuts a run there, and small enough that both
# limits, with loading and scoring, keep the whole demo within 5 minutes.
CPU_SIZE = CourseSize("demo on a CPU", patch=64, train_count=2000, test_count=1000, width=8, batch_size=32,
                      steps=500, seconds=135.0)
GPU_SIZE = CourseSize("demo on a GPU", patch=96, train_count=20000, test_count=2000, width=32, batch_size=128,
                      steps=3000, seconds=240.0)

REGRESSION = "regression (L2)"
DECODINGS = {  # the classification network's rows: name -> (decoding method, temperature)
    "classification: mode": ("mode", 1.0),
    "classification: mean": ("mean", 1.0),
    f"annealed mean T={LI_WANG_TEMPERATURE}": ("annealed", LI_WANG_TEMPERATURE),
    f"annealed mean T={ZHANG_TEMPERATURE}": ("annealed", ZHANG_TEMPERATURE),
}
ANNEALED = f"annealed mean T={ZHANG_TEMPERATURE}"  # the classifier's row in the figure: Zhang et al.'s decoding
FIGURE_ROWS = {  # out/demo.png's rows: title -> the table's method it shows
    "input (L only)": "gray output",
    REGRESSION: REGRESSION,
    f"classification:\n{ANNEALED}": ANNEALED,
    "truth": TRUTH,
}
PATCHES_PER_PHOTO = 2  # held-out patches of each photo beside the whole photos (the most colourful first)
FONT_SIZE = 12  # points: 17 px at the figure's 100 dpi, legible at 100 % zoom


def _train(name: str, data: LabPairs, size: CourseSize, seed: int, progress: bool):
    """One network trained ``size.steps`` steps; returns it and a footnote when the time limit cut it short."""
    # seeded here, not once for both: a network's initial weights never depend on how the other one trained
    seed_everything(seed)
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

    ``size``: :data:`CPU_SIZE` or :data:`GPU_SIZE` (by the device) unless given; ``size.steps`` is each
    network's training steps (what its progress bar counts), ``size.seconds`` its time limit. ``seed``
    (an int) chooses the patches and the networks' initial weights and batches: the same seed on the same
    machine gives the same table, unless the time limit cuts a run.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = time.perf_counter()
    device = device or default_device(verbose=True)
    size = size or (GPU_SIZE if is_gpu(device) else CPU_SIZE)
    seed_everything(seed)
    print(f"demo on {describe_device(device)}: width {size.width}, {size.train_count} training patches of "
          f"{size.patch} px, {size.steps} steps per model")

    train_images = load_images("samples", "train", size=size.patch, count=size.train_count, seed=seed)
    test_images, test_photo = load_labelled_images("samples", "test", size=size.patch, count=size.test_count,
                                                   seed=seed + 1)
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

    photos = _colorized_photos(regressor, classifier, size.patch)
    patches = _shown_patches(outputs, test_photo)
    fig = _figure(photos, patches, size.patch)
    path = save_figure(fig, Path(out) / "demo.png")
    plt.close(fig)
    print(f"\nwrote {path}; the whole demo took {time.perf_counter() - start:.0f} s")
    return table


def _colorized_photos(regressor, classifier, patch: int) -> dict[str, dict[str, np.ndarray]]:
    """Each held-out photo, whole and at its full resolution, as :data:`FIGURE_ROWS` shows it.

    Returns photo name -> method -> uint8 (H,W,3). The networks see L at the scale they were trained at
    (the photo's shorter side ``min(4 * patch, 256)`` px, as :func:`colorlab.data.load_images` cuts the
    patches); the ab is upsampled to the photo's size and joined to its own full-resolution L.
    """
    shown = {}
    for name in TEST_PHOTOS:
        photo = load_photo(name)
        h, w = photo.shape[:2]
        work_size = round(max(h, w) * min(4 * patch, 256) / min(h, w))
        gray = rgb_to_gray(torch.tensor(photo).permute(2, 0, 1).float() / 255.0)
        shown[name] = {
            "gray output": (gray.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8),
            REGRESSION: colorize(photo, regressor, work_size=work_size),
            ANNEALED: colorize(photo, classifier, temperature=ZHANG_TEMPERATURE, method="annealed",
                               work_size=work_size),
            TRUTH: photo,
        }
    return shown


def _shown_patches(outputs: dict[str, torch.Tensor], photo_of: torch.Tensor) -> dict[str, list[torch.Tensor]]:
    """Method -> :data:`PATCHES_PER_PHOTO` held-out patches of each photo, photo by photo: by the truth's
    colourfulness, the most colourful and those down to its upper quartile (so that a patch shows the scene
    rather than a dark background, and two patches are not two crops of the same spot)."""
    scores = colorfulness(outputs[TRUTH], reduction="none").cpu()
    chosen = []
    for photo in range(len(TEST_PHOTOS)):
        mine = torch.nonzero(photo_of.cpu() == photo).flatten()
        if len(mine):
            order = mine[scores[mine].argsort(descending=True)]
            picks = torch.linspace(0, len(order) // 4, PATCHES_PER_PHOTO).round().long()
            chosen += order[picks].tolist()
    return {method: [outputs[method][i] for i in chosen] for method in FIGURE_ROWS.values()}


def _figure(photos: dict[str, dict[str, np.ndarray]], patches: dict[str, list[torch.Tensor]], patch: int):
    """One row per method: the whole held-out photos, one image pixel to one figure pixel, then the patches
    enlarged (a whole number of pixels per pixel), :data:`PATCHES_PER_PHOTO` rows of them, a photo's per column."""
    import matplotlib.pyplot as plt

    from .viz import to_numpy_image

    dpi, gap, left, top = 100, 12, 240, 90  # pixels: between images, the row titles, the titles above
    sizes = [photo[TRUTH].shape[:2] for photo in photos.values()]
    row_height = max(h for h, _ in sizes)
    zoom = max(1, (row_height - gap * (PATCHES_PER_PHOTO - 1)) // (PATCHES_PER_PHOTO * patch))
    cell = zoom * patch
    margin = (row_height - PATCHES_PER_PHOTO * cell - (PATCHES_PER_PHOTO - 1) * gap) // 2  # centres the patches
    patch_columns = -(-max(len(shown) for shown in patches.values()) // PATCHES_PER_PHOTO)
    width = left + sum(w for _, w in sizes) + gap * len(sizes) + patch_columns * (cell + gap)
    height = top + len(FIGURE_ROWS) * (row_height + gap)
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)

    def place(image, x: int, y: int, w: int, h: int):
        """An image in a box of w x h figure pixels whose top-left corner is (x, y) from the figure's top left."""
        ax = fig.add_axes((x / width, 1 - (y + h) / height, w / width, h / height))
        ax.imshow(to_numpy_image(image), interpolation="nearest")
        ax.axis("off")

    def text(x: int, y: int, words: str, **where):
        fig.text(x / width, 1 - y / height, words, fontsize=FONT_SIZE, **where)

    text(left, 12, "held-out photos, colorized whole at their full resolution (the networks see L at the scale "
                   "they were trained at; the photo's own L is kept),", va="top")
    text(left, 36, f"and {PATCHES_PER_PHOTO} of the table's {patch} px patches of each (from the most colourful "
                   f"to its upper quartile), drawn {zoom} pixels per pixel", va="top")
    for row, (title, method) in enumerate(FIGURE_ROWS.items()):
        y = top + row * (row_height + gap)
        text(left - gap, y + row_height / 2, title, ha="right", va="center")
        x = left
        for name, (h, w) in zip(photos, sizes):
            if row == 0:
                text(x, top - 6, f"{name}, {w} x {h} px", va="bottom")
            place(photos[name][method], x, y + (row_height - h) // 2, w, h)
            x += w + gap
        if row == 0:
            text(x, top - 6, f"patches, {patch} px", va="bottom")
        for i, image in enumerate(patches[method]):
            column, within = divmod(i, PATCHES_PER_PHOTO)
            place(image, x + column * (cell + gap), y + margin + within * (cell + gap), cell, cell)
    return fig
