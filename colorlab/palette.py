"""Palettes as colour histograms, the idea of Fenu and Bagwell (001).

001 splits colorization in two: first estimate the image's colour histogram
(its *palette*: which colours occur and how much of each, wherever they are),
then colour the image from that palette. Because the palette is an explicit
input, a person can edit it, "towards red" or "towards blue" (001, Figures 6
and 7), and the colorizer follows.

Here a palette is a histogram over Zhang's 313 ab bins
(:mod:`colorlab.quantize`): a (313,) tensor of non-negative shares summing to 1,
share q being the fraction of the image's pixels whose nearest bin centre is
``bin_centers()[q]``.

- :func:`ab_histogram`: the histogram of an image (notebook 06's exercise), or
  of a coarser grid of bins (``grid=20``, ...).
- :func:`top_bins`, :func:`palette_strip`: the palette for display.
- :func:`push_palette`: move a palette towards a colour (a name such as "red",
  a hue angle, or an (a, b) point); :func:`edit_bins`: set chosen bins' shares.
- :func:`histogram_distance`: how far apart two palettes are.

What "towards red" means
------------------------
In Lab, a runs from green (negative) to red (positive) and b from blue
(negative) to yellow (positive); the direction of (a, b) is the hue, its length
the chroma. A named colour is the ab point at chroma :data:`TARGET_CHROMA` (50,
moderate: in gamut at mid lightness) and the hue angle of :data:`NAMED_HUES`
(degrees, counter-clockwise from +a; close to the hue of the sRGB colour of that
name, blue taken as a sky blue rather than the violet sRGB primary):

======  =====  ==============
name    hue    (a, b)
======  =====  ==============
red     40     (+38.3, +32.1)
orange  62     (+23.5, +44.1)
yellow  95     (-4.4, +49.8)
green   140    (-38.3, +32.1)
cyan    200    (-47.0, -17.1)
blue    285    (+12.9, -48.3)
purple  320    (+38.3, -32.1)
pink    350    (+49.2, -8.7)
======  =====  ==============

So pushing towards red moves mass to bins of large a (and positive b); towards
blue, to bins of negative b.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import torch

from ._validate import as_tensor, channels_image, check_finite, whole_number
from .quantize import BIN_CENTERS, GRID, LATTICE_LO, NUM_BINS, bin_centers, encode_hard, nearest_bin

TARGET_CHROMA = 50.0  # chroma of the named colours, in ab units
NAMED_HUES = {"red": 40.0, "orange": 62.0, "yellow": 95.0, "green": 140.0,
              "cyan": 200.0, "blue": 285.0, "purple": 320.0, "pink": 350.0}
PUSH_SIGMA = 15.0  # width (ab units) of the blob of colour a push adds around its target
SWATCH_L = 65.0  # lightness at which palette swatches are drawn


def hue_to_ab(hue: float, chroma: float = TARGET_CHROMA) -> tuple[float, float]:
    """The ab point at angle ``hue`` (degrees, counter-clockwise from +a) and distance ``chroma``."""
    rad = math.radians(hue)
    return chroma * math.cos(rad), chroma * math.sin(rad)


NAMED_COLOURS = {name: hue_to_ab(hue) for name, hue in NAMED_HUES.items()}


# ------------------------------------------------------------ histograms

def ab_histogram(ab, grid: int = GRID) -> torch.Tensor:
    """The colour histogram (palette) of an image: the share of its pixels in each ab bin.

    Every pixel goes to its nearest of Zhang's 313 bin centres
    (:func:`colorlab.quantize.encode_hard`); share q is the number of pixels in
    bin q divided by the number of pixels, H x W. Where the pixels are plays no
    part: a flipped or shuffled image has the same histogram.

    Parameters
    ----------
    ab : float tensor or NumPy array, (2,H,W) or (N,2,H,W), on any device
        Unnormalised Lab a and b (about -110 to 110; what
        :func:`colorlab.color.rgb_to_l_ab` returns, *not* the normalised ab of
        :class:`~colorlab.data.LabPairs`: multiply those by 110 first, with
        :func:`colorlab.color.denormalize_ab`). Colours outside the bins' gamut
        count in their nearest bin.
    grid : int
        10 (default): the 313 bins. A multiple of 10 (20, 30, ...): a coarser
        histogram, the 313 shares summed over the cells of a ``grid``-unit grid
        (see :func:`coarse_groups`); only cells that hold a bin are kept.

    Returns
    -------
    float32 tensor on ab's device, (313,) or (N,313) (or (G,)/(N,G) for a coarse
    grid): non-negative, each histogram summing to 1.
    """
    x, single = channels_image(ab, 2, "ab_histogram input", "unnormalised Lab a and b")
    coarse_groups(grid)  # checks grid
    hist = _histogram(encode_hard(x))
    if grid != GRID:
        hist = coarsen(hist, grid)
    return hist[0] if single else hist


def _histogram(bins: torch.Tensor) -> torch.Tensor:
    """(N,H,W) bin indices -> (N,313) float32 shares, on the bins' device; no host sync."""
    n = bins.shape[0]
    flat = bins.reshape(n, -1)
    counts = torch.zeros(n, NUM_BINS, dtype=torch.float32, device=bins.device)
    counts.scatter_add_(1, flat, torch.ones_like(flat, dtype=torch.float32))
    return counts / flat.shape[1]


def fast_histogram(ab: torch.Tensor) -> torch.Tensor:
    """:func:`ab_histogram` of (N,2,H,W) unnormalised ab, for training loops: no checks, no host sync.

    Returns (N,313) float32 on ab's device. On a GPU the nearest bin of each pixel
    is searched among the at most 14 candidates of its nearest lattice point
    (:func:`colorlab.quantize.nearest_bin` with ``exact=False``: the same bins as
    :func:`colorlab.quantize.encode_hard` for every colour with |a|, |b| <= 115, i.e.
    all of sRGB), so a batch never waits for the host; on the CPU, where waiting costs
    nothing, it is ``encode_hard`` itself (faster there).
    """
    if ab.device.type == "cpu":
        return _histogram(encode_hard(ab))
    pixels = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    return _histogram(nearest_bin(pixels, exact=False).reshape(ab.shape[0], -1))


@functools.lru_cache(maxsize=None)
def _coarse(grid: int) -> tuple[torch.Tensor, torch.Tensor]:
    centers = torch.tensor(BIN_CENTERS, dtype=torch.float64)
    cells = torch.floor((centers - LATTICE_LO + GRID / 2) / grid).long()  # the 23 lattice lines -> cells of `grid`
    keys = cells[:, 0] * 1000 + cells[:, 1]
    unique, group = torch.unique(keys, sorted=True, return_inverse=True)
    members = torch.zeros(len(unique), NUM_BINS, dtype=torch.float64)
    members[group, torch.arange(NUM_BINS)] = 1.0
    group_centres = (members @ centers) / members.sum(1, keepdim=True)
    return group, group_centres.float()


def coarse_groups(grid: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Map the 313 bins to the cells of a coarser ``grid`` (ab units, a multiple of 10).

    The ab plane from -115 to 115 is cut into squares of side ``grid`` (aligned so
    every 10-unit bin lies inside exactly one square); the squares holding at least
    one bin are the groups, in order of a, then b.

    Returns
    -------
    (group, centres): ``group`` a (313,) long tensor, the group of each bin;
    ``centres`` a (G, 2) float32 tensor, the mean (a, b) of each group's bins.
    ``grid=10`` gives the 313 bins themselves (group q = bin q).
    """
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < GRID or grid % GRID:
        raise ValueError(f"grid must be 10 (the 313 bins) or a larger multiple of 10 (20, 30, ...), got {grid!r}.")
    group, centres = _coarse(int(grid))
    return group.clone(), centres.clone()


def coarsen(hist, grid: int) -> torch.Tensor:
    """Sum a 313-bin histogram, (313,) or (N,313), over the groups of :func:`coarse_groups` -> (G,) or (N,G)."""
    group, centres = coarse_groups(grid)
    h, single = _histograms(hist, "coarsen")
    out = torch.zeros(h.shape[0], centres.shape[0], dtype=h.dtype, device=h.device)
    out.index_add_(1, group.to(h.device), h)
    return out[0] if single else out


def _histograms(hist, name: str) -> tuple[torch.Tensor, bool]:
    """Validate (313,) or (N,313) non-negative, finite shares; return (batched, was_single)."""
    h = as_tensor(hist, f"{name} histogram")
    if h.ndim not in (1, 2) or h.shape[-1] != NUM_BINS or (h.ndim == 2 and h.shape[0] == 0):
        raise ValueError(f"{name}: expected a histogram of shape ({NUM_BINS},) or (N,{NUM_BINS}) "
                         f"(e.g. from ab_histogram), got shape {tuple(h.shape)}.")
    check_finite(h, f"{name} histogram")
    if bool((h < 0).any()):
        raise ValueError(f"{name}: histogram shares must be non-negative, got a minimum of {float(h.min()):.4g}.")
    if bool((h.sum(-1) <= 0).any()):
        raise ValueError(f"{name}: a histogram is all zeros; it must hold some mass.")
    single = h.ndim == 1
    return (h.unsqueeze(0) if single else h), single


def normalize_histogram(hist) -> torch.Tensor:
    """Scale non-negative weights, (313,) or (N,313), so that each histogram sums to 1."""
    h, single = _histograms(hist, "normalize_histogram")
    h = h / h.sum(-1, keepdim=True)
    return h[0] if single else h


def histogram_distance(p, q) -> torch.Tensor:
    """Total-variation distance between histograms: half the L1 distance, in [0, 1].

    0 for equal histograms, 1 for histograms with no bin in common; it is the
    share of pixels that would have to change bin to turn one into the other.
    ``p``, ``q``: (313,) or (N,313) (broadcast against each other); each is
    normalised to sum 1 first. Returns a 0-d or (N,) tensor.
    """
    p, single_p = _histograms(p, "histogram_distance")
    q, single_q = _histograms(q, "histogram_distance")
    p = p / p.sum(-1, keepdim=True)
    q = q.to(p.device) / q.sum(-1, keepdim=True)
    d = 0.5 * (p - q).abs().sum(-1)
    return d[0] if single_p and single_q else d


# ------------------------------------------------------------ display

class PaletteEntry(NamedTuple):
    """One colour of a palette: its bin, share, ab centre and RGB (at lightness :data:`SWATCH_L`)."""

    bin: int
    share: float
    ab: tuple[float, float]
    rgb: tuple[float, float, float]


@functools.lru_cache(maxsize=None)
def _bin_rgb(lightness: float) -> np.ndarray:
    from .color import lab_to_rgb

    centers = torch.tensor(BIN_CENTERS, dtype=torch.float32)
    lab = torch.cat([torch.full((NUM_BINS, 1), float(lightness)), centers], dim=1)
    return lab_to_rgb(lab.T.reshape(3, NUM_BINS, 1))[:, :, 0].T.numpy()


def bin_rgb(lightness: float = SWATCH_L) -> np.ndarray:
    """(313, 3) float RGB in [0, 1] of every bin centre at Lab lightness ``lightness`` (for swatches)."""
    if not (isinstance(lightness, (int, float)) and 0 <= lightness <= 100):
        raise ValueError(f"bin_rgb: lightness must be a number in [0, 100], got {lightness!r}.")
    return _bin_rgb(float(lightness)).copy()


def top_bins(hist, k: int = 8, lightness: float = SWATCH_L) -> list[PaletteEntry]:
    """The ``k`` largest shares of a (313,) histogram, largest first, bins of zero share left out."""
    h, single = _histograms(hist, "top_bins")
    if not single:
        raise ValueError(f"top_bins: expected one histogram of shape ({NUM_BINS},), got {tuple(h.shape)}.")
    k = whole_number(k, "top_bins: k")
    h = (h[0] / h[0].sum()).detach().double().cpu()
    shares, bins = torch.topk(h, min(int(k), NUM_BINS))
    rgb = bin_rgb(lightness)
    return [PaletteEntry(int(q), float(s), BIN_CENTERS[q], tuple(float(c) for c in rgb[q]))
            for s, q in zip(shares.tolist(), bins.tolist()) if s > 0]


def palette_strip(hist, k: int = 8, width: int = 256, height: int = 24, lightness: float = SWATCH_L) -> np.ndarray:
    """The palette as a strip of swatches: uint8 (height, width, 3).

    The ``k`` largest bins, left to right from the largest, each as wide as its
    share of those k (so the strip shows the proportions of the main colours).
    """
    entries = top_bins(hist, k, lightness)
    total = sum(e.share for e in entries)
    strip = np.full((height, width, 3), 255, dtype=np.uint8)
    edges = np.round(np.cumsum([0.0] + [e.share / total for e in entries]) * width).astype(int)
    for e, left, right in zip(entries, edges[:-1], edges[1:]):
        strip[:, left:right] = np.round(np.array(e.rgb) * 255).astype(np.uint8)
    return strip


# ------------------------------------------------------------ editing

def target_ab(towards) -> tuple[float, float]:
    """The ab point a push aims at: a name of :data:`NAMED_HUES`, a hue angle in degrees, or an (a, b) pair."""
    if isinstance(towards, str):
        name = towards.strip().lower()
        if name not in NAMED_COLOURS:
            raise ValueError(f"unknown colour {towards!r}; use one of {', '.join(NAMED_COLOURS)}, "
                             f"a hue angle in degrees or an (a, b) pair.")
        return NAMED_COLOURS[name]
    if isinstance(towards, (int, float, np.integer, np.floating)) and not isinstance(towards, bool):
        if not math.isfinite(towards):
            raise ValueError(f"a hue angle must be a finite number of degrees, got {towards!r}.")
        return hue_to_ab(float(towards))
    if isinstance(towards, (tuple, list, np.ndarray, torch.Tensor)) and len(towards) == 2:
        a, b = (float(v) for v in towards)
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"an (a, b) target must be two finite numbers, got {towards!r}.")
        return a, b
    raise ValueError(f"towards must be a colour name ({', '.join(NAMED_COLOURS)}), a hue angle in degrees "
                     f"or an (a, b) pair, got {towards!r}.")


def target_histogram(towards, sigma: float = PUSH_SIGMA, device="cpu") -> torch.Tensor:
    """A (313,) histogram concentrated around a colour: weights exp(-|c_q - t|^2 / (2 sigma^2)), normalised."""
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number of ab units, got {sigma!r}.")
    t = torch.tensor(target_ab(towards), dtype=torch.float32, device=device)
    d2 = (bin_centers(device) - t).square().sum(1)
    weights = torch.exp(-(d2 - d2.min()) / (2 * sigma**2))  # shift: never all zero, even far off the gamut
    return weights / weights.sum()


def push_palette(hist, towards, strength: float = 0.5, sigma: float = PUSH_SIGMA) -> torch.Tensor:
    """Push a palette towards a colour: mix it with a blob of that colour.

    new = (1 - strength) * hist + strength * target, where ``target`` is
    :func:`target_histogram` (a Gaussian of width ``sigma`` ab units around the
    target's ab point, over the bins). So ``strength`` is the share of the pixels
    that the pushed palette gives to the new colour: 0 leaves the palette as it
    is, 1 replaces it by the target. The palette's mean ab moves in a straight
    line towards the target as the strength grows; a colour the image did not
    have at all still appears (a plain reweighting of the bins could not do that).

    Parameters
    ----------
    hist : (313,) or (N,313) histogram (normalised to sum 1 first)
    towards : "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink"
        (see :data:`NAMED_COLOURS`), a hue angle in degrees, or an (a, b) point
    strength : float in [0, 1]
    sigma : float > 0, width of the added blob in ab units

    Returns
    -------
    float tensor of hist's shape and device, a histogram (non-negative, sums to 1).
    """
    h, single = _histograms(hist, "push_palette")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
        raise ValueError(f"push_palette: strength must be a number in [0, 1], got {strength!r}.")
    h = h / h.sum(-1, keepdim=True)
    out = (1 - strength) * h + strength * target_histogram(towards, sigma, h.device).to(h.dtype)
    return out[0] if single else out


def bin_index(a: float, b: float) -> int:
    """The index of the bin whose centre is nearest to (a, b)."""
    return int(encode_hard(torch.tensor([[[float(a)]], [[float(b)]]])).item())


def edit_bins(hist, weights: dict) -> torch.Tensor:
    """Set the shares of chosen bins; the other bins shrink (or grow) together to fill the rest.

    ``weights`` maps a bin index (0-312) to its new share in [0, 1]; the shares
    given must add up to at most 1. The bins not named keep their proportions to
    one another and share 1 - sum(weights) between them, so the result is again a
    histogram. If the bins not named hold no mass the named ones are scaled to
    sum 1. Works on one (313,) histogram or a batch (N,313), the same edit for all.
    """
    h, single = _histograms(hist, "edit_bins")
    if not isinstance(weights, dict) or not weights:
        raise ValueError(f"edit_bins: weights must be a non-empty dict {{bin index: share}}, got {weights!r}.")
    bins, shares = [], []
    for q, w in weights.items():
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not 0 <= q < NUM_BINS:
            raise ValueError(f"edit_bins: bin indices must be integers in [0, {NUM_BINS}), got {q!r} "
                             f"(find a colour's bin with bin_index(a, b)).")
        if isinstance(w, bool) or not isinstance(w, (int, float, np.floating)) or not 0 <= w <= 1:
            raise ValueError(f"edit_bins: the share of bin {q} must be a number in [0, 1], got {w!r}.")
        bins.append(int(q))
        shares.append(float(w))
    fixed = sum(shares)
    if fixed > 1 + 1e-6:
        raise ValueError(f"edit_bins: the shares given add up to {fixed:.4g}; they must add up to at most 1.")
    h = h / h.sum(-1, keepdim=True)
    named = torch.zeros(NUM_BINS, dtype=torch.bool, device=h.device)
    named[bins] = True
    rest = torch.where(named, torch.zeros_like(h), h)
    rest_mass = rest.sum(-1, keepdim=True)
    set_values = torch.zeros(NUM_BINS, dtype=h.dtype, device=h.device)
    set_values[bins] = torch.tensor(shares, dtype=h.dtype, device=h.device)
    scaled_rest = rest * ((1 - fixed) / rest_mass.clamp(min=1e-12))
    out = set_values + scaled_rest
    if fixed <= 0 and bool((rest_mass <= 0).any()):
        raise ValueError("edit_bins: that edit leaves no mass at all (every bin with mass was set to 0).")
    out = out / out.sum(-1, keepdim=True)  # the rest was empty: the named shares alone, scaled to 1
    return out[0] if single else out


def mean_ab(hist) -> torch.Tensor:
    """The mean colour of a palette: sum_q share_q c_q, a (2,) or (N,2) tensor of (a, b)."""
    h, single = _histograms(hist, "mean_ab")
    h = h / h.sum(-1, keepdim=True)
    m = h @ bin_centers(h.device, h.dtype)
    return m[0] if single else m


__all__ = ["NAMED_COLOURS", "NAMED_HUES", "TARGET_CHROMA", "PUSH_SIGMA", "SWATCH_L", "PaletteEntry",
           "ab_histogram", "fast_histogram", "coarse_groups", "coarsen", "normalize_histogram",
           "histogram_distance", "hue_to_ab", "bin_rgb", "top_bins", "palette_strip", "target_ab",
           "target_histogram", "push_palette", "bin_index", "edit_bins", "mean_ab"]
