"""Figures shared by the notebooks and the ``colorlab`` command.

Plotting functions return a matplotlib ``Figure`` and never call ``plt.show()``,
so the same code draws inline in a notebook and to a file in a script; the ``draw_*``
functions draw into an ``Axes`` the caller made (the ab plane: a to the right, b upwards).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ._validate import whole_number
from .color import lab_to_rgb, rgb_to_lab
from .palette import bin_rgb
from .quantize import BIN_CENTERS

# L at which a single chroma channel is drawn: light enough that both ends of a and b are in gamut.
_CHANNEL_L = 70.0
GAMUT_GRAY = 0.85  # the light gray of (a, b) outside the gamut (colour=True), or inside it (colour=False)
GAMUT_TOLERANCE = 1.0  # an (a, b) is in gamut when Lab -> RGB -> Lab comes back within this distance


def to_numpy_image(image) -> np.ndarray:
    """(3,H,W) tensor (float in [0, 1] or uint8) or (H,W,3) array -> (H,W,3) float array for ``imshow``."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        image = image.float() / 255.0 if image.dtype == torch.uint8 else image.float()
        if image.ndim == 3 and image.shape[0] in (1, 3):
            image = image.permute(1, 2, 0)
        image = image.numpy()
    image = np.asarray(image)
    if image.dtype == np.uint8:
        image = image / 255.0
    return np.clip(image, 0.0, 1.0)


def _as_chw(image) -> torch.Tensor:
    """uint8 (H,W,3) array or float (3,H,W) tensor -> float32 (3,H,W) tensor in [0, 1]."""
    if isinstance(image, np.ndarray):
        t = torch.from_numpy(np.array(image))  # a copy: photos from some loaders are read-only
        if t.ndim == 3 and t.shape[-1] == 3:
            t = t.permute(2, 0, 1)
        image = t
    if image.dtype == torch.uint8:
        image = image.float() / 255.0
    return image.float()


def channel_views(image) -> dict[str, np.ndarray]:
    """RGB, L, a and b of one photo as displayable (H,W,3) arrays.

    L is shown as gray. a (and b) are shown as colours: the photo's a with L fixed
    at 70 and b = 0, so green-to-red (and blue-to-yellow) is what the eye sees.
    """
    rgb = _as_chw(image)
    lab = rgb_to_lab(rgb)
    l, a, b = lab[0], lab[1], lab[2]
    flat_l = torch.full_like(l, _CHANNEL_L)
    zero = torch.zeros_like(l)
    return {
        "RGB": to_numpy_image(rgb),
        "L": to_numpy_image(lab_to_rgb(torch.stack([l, zero, zero]))),
        "a (green-red)": to_numpy_image(lab_to_rgb(torch.stack([flat_l, a, zero]))),
        "b (blue-yellow)": to_numpy_image(lab_to_rgb(torch.stack([flat_l, zero, b]))),
    }


def lab_channels_figure(photos: Mapping[str, object], max_side: int = 256):
    """One row per photo: RGB | L | a | b. ``photos`` maps names to uint8 (H,W,3) arrays.

    Photos are shrunk (by striding) so the longer side is at most ``max_side``; a
    figure of a dozen photos stays small and quick.
    """
    import matplotlib.pyplot as plt

    if not photos:
        raise ValueError("lab_channels_figure: no photos given; pass a dict of name -> (H,W,3) uint8 array.")
    fig, axes = plt.subplots(len(photos), 4, figsize=(10, 2.5 * len(photos)), squeeze=False)
    for row, (name, photo) in zip(axes, photos.items()):
        photo = np.asarray(photo)
        step = max(1, int(np.ceil(max(photo.shape[:2]) / max_side)))
        for ax, (title, view) in zip(row, channel_views(photo[::step, ::step]).items()):
            ax.imshow(view)
            ax.set_xticks([])
            ax.set_yticks([])
            if ax is row[0]:
                ax.set_ylabel(name)
            ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


TITLE_FONTSIZE = 9  # points: the row and column titles of image_grid, legible at 100 % zoom
_GRID_PAD = 0.1  # inches around the grid and between a row title and its row
_GRID_GAP = 0.05  # inches between two images


def text_size(texts: Sequence[str], fontsize: float = TITLE_FONTSIZE) -> tuple[float, float]:
    """(width, height) in inches of the widest and of the tallest of ``texts`` (str, may hold newlines),
    as matplotlib draws them at ``fontsize`` points; (0, 0) for no texts."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scratch = Figure()
    renderer = FigureCanvasAgg(scratch).get_renderer()
    boxes = [scratch.text(0, 0, str(t), fontsize=fontsize).get_window_extent(renderer) for t in texts]
    return (max((b.width for b in boxes), default=0.0) / scratch.dpi,
            max((b.height for b in boxes), default=0.0) / scratch.dpi)


def image_grid(rows: Sequence[Sequence[object]], column_titles: Sequence[str] | None = None,
               row_titles: Sequence[str] | None = None, size: float = 2.2, title: str | None = None):
    """A grid of images, each in a square of ``size`` inches: ``rows[i][j]`` is a (3,H,W) tensor in [0, 1]
    or an (H,W,3) array (uint8, or float in [0, 1]); a short row leaves its last cells empty.

    Row titles (str, may hold newlines) stand horizontally to the left of their row, column titles
    above the first row, ``title`` above everything. The room each takes is measured from its text
    and added to the figure, so no title is ever clipped however long, and the images keep their size.
    """
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    row_title_width = text_size(row_titles)[0] + _GRID_PAD if row_titles is not None else 0.0
    column_title_height = text_size(column_titles)[1] + _GRID_PAD if column_titles is not None else 0.0
    title_height = text_size([title], TITLE_FONTSIZE + 2)[1] + _GRID_PAD if title is not None else 0.0
    left = _GRID_PAD + row_title_width
    top = _GRID_PAD + title_height + column_title_height
    width = left + n_cols * size + (n_cols - 1) * _GRID_GAP + _GRID_PAD
    height = top + n_rows * size + (n_rows - 1) * _GRID_GAP + _GRID_PAD
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, height), squeeze=False)
    # The figure's own margins (not the grid's), so that a caller's later fig.tight_layout() can still redo them.
    fig.subplots_adjust(left=left / width, right=1 - _GRID_PAD / width, top=1 - top / height,
                        bottom=_GRID_PAD / height, wspace=_GRID_GAP / size, hspace=_GRID_GAP / size)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(row):
                ax.imshow(to_numpy_image(row[j]))
            else:
                ax.axis("off")
            if i == 0 and column_titles is not None and j < len(column_titles):
                ax.set_title(column_titles[j], fontsize=TITLE_FONTSIZE, pad=_GRID_PAD * 72)
            if j == 0 and row_titles is not None:
                # horizontal, to the left of the row: a long name never runs into the next row's
                ax.set_ylabel(row_titles[i], fontsize=TITLE_FONTSIZE, rotation=0, ha="right", va="center",
                              labelpad=_GRID_PAD * 72)
    if title is not None:
        fig.suptitle(title, fontsize=TITLE_FONTSIZE + 2, y=1 - _GRID_PAD / height, va="top")
    return fig


def gamut(lightness: float, half_width: int = 110) -> tuple[torch.Tensor, torch.Tensor]:
    """The sRGB gamut at one lightness, on the ab square from -half_width to half_width in steps of 1.

    An (a, b) is in gamut when its colour at Lab lightness ``lightness`` survives the round trip
    Lab -> RGB (clipped to [0, 1]) -> Lab within :data:`GAMUT_TOLERANCE`.

    Parameters
    ----------
    lightness : float, Lab L in [0, 100]
    half_width : int > 0, in ab units

    Returns
    -------
    rgb : float32 (3, S, S) in [0, 1], S = 2 * half_width + 1: each (a, b)'s displayed colour
    inside : bool (S, S), True in gamut
        Row i is b = -half_width + i (b ascending, so ``flip(0)`` puts b upwards for ``imshow``),
        column j is a = -half_width + j.
    """
    if isinstance(lightness, bool) or not isinstance(lightness, (int, float)) or not 0 <= lightness <= 100:
        raise ValueError(f"gamut: lightness must be a number in [0, 100], got {lightness!r}.")
    half_width = whole_number(half_width, "gamut: half_width (ab units)")
    grid = torch.linspace(-half_width, half_width, 2 * half_width + 1)
    b_grid, a_grid = torch.meshgrid(grid, grid, indexing="ij")
    lab = torch.stack([torch.full_like(a_grid, float(lightness)), a_grid, b_grid])
    rgb = lab_to_rgb(lab)
    return rgb, (rgb_to_lab(rgb) - lab).norm(dim=0) < GAMUT_TOLERANCE


def draw_gamut(ax, lightness: float = 60.0, colour: bool = True, half_width: int = 110) -> float:
    """Draw the gamut at ``lightness`` (see :func:`gamut`) on the ab plane of ``ax``; return its share.

    ``colour=True``: every displayable (a, b) in its own colour, the rest light gray (a picture of the
    gamut). ``colour=False``: the gamut as a light-gray shape on white (a backdrop for the bins of
    :func:`draw_bins`). The image spans -half_width to half_width in a (x) and b (y).

    Returns the share of the square that is in gamut, a float in [0, 1].
    """
    rgb, inside = gamut(lightness, half_width)
    if colour:
        shown = torch.where(inside, rgb, torch.full_like(rgb, GAMUT_GRAY)).permute(1, 2, 0).flip(0).numpy()
    else:
        shown = np.where(inside.flip(0).numpy()[..., None], GAMUT_GRAY, 1.0) * np.ones(3)
    ax.imshow(shown, extent=(-half_width, half_width, -half_width, half_width))
    return float(inside.float().mean())


def draw_bins(ax, size=38.0, values=None, lightness: float = 60.0, **scatter_options):
    """Draw the 313 bins of :mod:`colorlab.quantize` as squares at their centres on the ab plane of ``ax``.

    Parameters
    ----------
    size : marker area in points squared: a number, or a (313,) array or tensor, one per bin (e.g. a
        distribution over the bins scaled to its largest value, to draw the distribution)
    values : None to colour each bin in its own colour at Lab lightness ``lightness``
        (:func:`colorlab.palette.bin_rgb`), or a (313,) array or tensor of numbers to colour the bins
        through a colormap (``cmap=`` among ``scatter_options``)
    scatter_options : passed on to ``ax.scatter`` (``edgecolors`` is "none" unless given)

    Returns the ``PathCollection`` of ``ax.scatter``.
    """
    centers = np.array(BIN_CENTERS)
    size = size.detach().cpu().numpy() if isinstance(size, torch.Tensor) else size
    colours = bin_rgb(lightness) if values is None else (
        values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values))
    if np.ndim(colours) == 1 and len(colours) != len(centers) or np.ndim(size) and np.size(size) != len(centers):
        raise ValueError(f"draw_bins: values and size must hold one number per bin ({len(centers)}), got "
                         f"{np.shape(colours)} and {np.shape(size)}.")
    scatter_options.setdefault("edgecolors", "none")
    return ax.scatter(centers[:, 0], centers[:, 1], c=colours, s=size, marker="s", **scatter_options)
