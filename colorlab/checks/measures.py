"""Checkers for notebook 07, the measures: Zhang's AuC, and where one colorizer loses it to another.

Zhang, Isola and Efros (*Colorful Image Colorization*) score a colorization by the AuC of its ab
error: the share of pixels whose error is within t, for t = 0..150, and the area under that curve.
:func:`check_auc` checks the student's AuC against :func:`colorlab.metrics.auc`.

The AuC of a set of pixels is the mean of one number per pixel (see :func:`colorlab.metrics.pixel_auc`), so it splits
exactly into groups of pixels: the AuC of all pixels is the pixel-count-weighted mean of the groups'
AuCs. :func:`chroma_band_auc` groups the pixels by the chroma of their true colour (nearly gray to
strongly coloured); :func:`check_chroma_band_auc` checks the student's version of it, then measures
two colorizers on the same held-out images band by band, with a paired bootstrap interval over the
images for each band, and says in one sentence where the first loses AuC to the second.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from ..metrics import pixel_auc
from ..results import bootstrap_counts
from .engine import Explanation, Reference, case, compare, matches, name_of, require_callable, rng

MAX_THRESHOLD = 150  # Zhang et al.'s largest threshold, in ab units
CHROMA_EDGES = (0.0, 5.0, 10.0, 20.0, 40.0, math.inf)  # chroma bands, in ab units: nearly gray ... strong colour
RESAMPLES = 1000


# ------------------------------------------------------------------ the reference measures


def _distance_and_chroma(pred_ab: torch.Tensor, true_ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,2,H,W) pairs -> the per-pixel ab error and the true colour's chroma, both (N,H,W)."""
    if pred_ab.shape != true_ab.shape or pred_ab.ndim != 4 or pred_ab.shape[1] != 2:
        raise ValueError(f"pred_ab and true_ab must both have shape (N, 2, H, W), got {tuple(pred_ab.shape)} and "
                         f"{tuple(true_ab.shape)}.")
    diff = pred_ab - true_ab
    return torch.hypot(diff[:, 0], diff[:, 1]), torch.hypot(true_ab[:, 0], true_ab[:, 1])


def _band_masks(chroma: torch.Tensor, edges: Sequence[float]) -> list[torch.Tensor]:
    edges = [float(e) for e in edges]
    if len(edges) < 2 or any(hi <= lo for lo, hi in zip(edges, edges[1:])):
        raise ValueError(f"edges must be at least two increasing chroma values, got {edges}.")
    return [(chroma >= lo) & (chroma < hi) for lo, hi in zip(edges, edges[1:])]


def chroma_band_auc(pred_ab: torch.Tensor, true_ab: torch.Tensor, edges: Sequence[float] = CHROMA_EDGES,
                    max_threshold: int = MAX_THRESHOLD) -> torch.Tensor:
    """Zhang's AuC of the pixels in each band of true chroma, every image's pixels pooled.

    Parameters
    ----------
    pred_ab, true_ab : float tensors (N, 2, H, W), unnormalised Lab a and b (about +-110)
    edges : K + 1 increasing chroma values (ab units; the last may be ``math.inf``): band k holds the
        pixels whose true chroma sqrt(a**2 + b**2) lies in [edges[k], edges[k + 1])
    max_threshold : int, the largest threshold (150)

    Returns a float tensor (K,) in [0, 1] in the inputs' dtype: the AuC over every pixel of the band,
    NaN for a band with no pixel.
    """
    distance, chroma = _distance_and_chroma(pred_ab, true_ab)
    return _band_means(pixel_auc(distance, max_threshold), chroma, edges)


def _band_means(contribution: torch.Tensor, chroma: torch.Tensor, edges: Sequence[float]) -> torch.Tensor:
    """The mean of ``contribution`` over the pixels of each chroma band, NaN for an empty one: (K,)."""
    nan = torch.tensor(math.nan, dtype=contribution.dtype, device=contribution.device)
    return torch.stack([contribution[mask].mean() if mask.any() else nan for mask in _band_masks(chroma, edges)])


# ------------------------------------------------------------------ check_auc


def _curve(pred_ab, true_ab, max_threshold=MAX_THRESHOLD, strict=False, distance="l2"):
    """The "within t" curve (N, T+1), optionally with one of its steps changed, for recognising a mistake."""
    diff = pred_ab - true_ab
    d = {"l2": lambda: diff.square().sum(1).sqrt(), "l1": lambda: diff.abs().sum(1),
         "squared": lambda: diff.square().sum(1)}[distance]().flatten(1)
    t = torch.arange(max_threshold + 1, dtype=d.dtype)
    within = d[:, :, None] < t if strict else d[:, :, None] <= t
    return within.to(d.dtype).mean(1)


def _auc_variant(pred_ab, true_ab, max_threshold=MAX_THRESHOLD, average=False, **curve_options):
    fraction = _curve(pred_ab, true_ab, max_threshold, **curve_options)
    return fraction.mean(1) if average else torch.trapezoid(fraction, dim=1) / max_threshold


def _reference_auc(pred_ab, true_ab, max_threshold=MAX_THRESHOLD):
    from ..metrics import auc

    return auc(pred_ab, true_ab, max_threshold, reduction="none")


def check_auc(fn) -> None:
    """Check ``fn(pred_ab, true_ab, max_threshold=150) -> (N,)``, Zhang et al.'s AuC of the ab error.

    ``pred_ab`` and ``true_ab`` are float32 tensors (N, 2, H, W) of unnormalised Lab a and b. For each
    image: the Euclidean ab error of every pixel, the share of pixels whose error is <= t for each whole
    threshold t = 0, 1, ..., max_threshold, and the area under that curve by the trapezoid rule divided
    by max_threshold (1 for a perfect prediction). The reference is :func:`colorlab.metrics.auc` with
    ``reduction="none"``; values must agree to 1e-6.
    """
    require_callable(fn, "check_auc", "auc")
    g = rng(7)

    def pixels(*pairs):  # ab values of one image of len(pairs) pixels in a row
        return torch.tensor(pairs, dtype=torch.float32).T.reshape(1, 2, 1, len(pairs))

    random_true = torch.rand(3, 2, 4, 5, generator=g) * 160 - 80
    cases = [
        case("a perfect prediction", random_true.clone(), random_true.clone()),
        # 3-4-5, 6-8-10 and 5-12-13 triangles: errors of exactly 5, 10 and 13, on a threshold
        case("errors of exactly 5, 10 and 13", pixels((3, 4), (6, 8), (5, 12)), pixels((0, 0), (0, 0), (0, 0))),
        case("errors beyond 150", pixels((120, 100), (-110, -90)), pixels((-10, -20), (50, 60))),
        case("a random batch", random_true + torch.randn(3, 2, 4, 5, generator=g) * 30, random_true),
        case("a random batch, max_threshold=20", torch.rand(2, 2, 3, 3, generator=g) * 40 - 20,
             torch.rand(2, 2, 3, 3, generator=g) * 40 - 20, max_threshold=20),
    ]
    atol = 1e-6
    hints = [
        matches(lambda p, t, m=MAX_THRESHOLD: _auc_variant(p, t, m, average=True),
                "that is the plain mean of the shares; the AuC is the area under the curve: the trapezoid rule "
                "over 0..max_threshold (torch.trapezoid) divided by max_threshold", atol, 0),
        matches(lambda p, t, m=MAX_THRESHOLD: _auc_variant(p, t, m, strict=True),
                "a pixel whose error equals the threshold counts as within it: use <=, not <", atol, 0),
        matches(lambda p, t, m=MAX_THRESHOLD: _auc_variant(p, t, m, distance="l1"),
                "that is the L1 error |da| + |db|; the error of a pixel is its Euclidean distance "
                "sqrt(da**2 + db**2)", atol, 0),
        matches(lambda p, t, m=MAX_THRESHOLD: _auc_variant(p, t, m, distance="squared"),
                "that is the squared error da**2 + db**2; take its square root", atol, 0),
    ]
    compare(fn, name_of(fn, "auc"), Reference(_reference_auc, "colorlab.metrics.auc", atol), cases,
            Explanation(rule="shape {expected}, one AuC per image", element=lambda index, shape: f"the AuC of "
                        f"image {index[0]}", hints=hints))


# ------------------------------------------------------------------ check_chroma_band_auc


def _band_range(lo: float, hi: float, first: bool, last: bool) -> str:
    if first and last:
        return "every chroma"
    if first:
        return f"chroma below {hi:g}"
    if last or math.isinf(hi):
        return f"chroma above {lo:g}"
    return f"chroma {lo:g} to {hi:g}"


def band_verdicts(first_ab: torch.Tensor, second_ab: torch.Tensor, true_ab: torch.Tensor,
                  edges: Sequence[float] = CHROMA_EDGES, max_threshold: int = MAX_THRESHOLD,
                  resamples: int = RESAMPLES, seed: int = 0) -> list[dict]:
    """The first colorizer's AuC minus the second's in each chroma band, with a paired bootstrap interval.

    Inputs as in :func:`chroma_band_auc` (all three (N, 2, H, W) float, Lab units). The images are
    resampled with replacement ``resamples`` times (a fixed ``seed``), the same draws for both
    colorizers, and each band's pooled AuC recomputed. Returns one dict per band: ``lo``, ``hi`` (the
    band's chroma), ``share`` (its share of all pixels), ``first``, ``second`` (the two AuCs),
    ``difference`` and its 95 % interval ``low``, ``high`` (NaN for an empty band).
    """
    d1, chroma = _distance_and_chroma(first_ab.double().cpu(), true_ab.double().cpu())
    d2, _ = _distance_and_chroma(second_ab.double().cpu(), true_ab.double().cpu())
    masks = _band_masks(chroma, edges)  # K of (N, H, W)
    count = torch.stack([m.sum((1, 2)) for m in masks], 1).double()  # (N, K): each image's pixels in each band
    sums = [torch.stack([(pixel_auc(d, max_threshold) * m).sum((1, 2)) for m in masks], 1) for d in (d1, d2)]
    n = count.shape[0]
    times_drawn = bootstrap_counts(n, resamples, seed)  # the resampling colorlab.results uses
    # NaN where a resample happened to miss every pixel of a band
    resampled = times_drawn @ (sums[0] - sums[1]) / (times_drawn @ count)  # (resamples, K)
    total = count.sum(0)
    bands = []
    for k, (lo, hi) in enumerate(zip(list(edges), list(edges)[1:])):
        first, second = (float(s[:, k].sum() / total[k]) if total[k] else math.nan for s in sums)
        kept = resampled[:, k][~resampled[:, k].isnan()]
        low, high = (torch.quantile(kept, torch.tensor([0.025, 0.975], dtype=kept.dtype)).tolist()
                     if len(kept) else (math.nan, math.nan))
        bands.append(dict(lo=float(lo), hi=float(hi), share=float(total[k] / total.sum()), first=first,
                          second=second, difference=first - second, low=low, high=high))
    return bands


def where_it_loses(bands: list[dict], first: str = "the L2 regressor", second: str = "the rebalanced classifier",
                   gray_below: float = 10.0) -> str:
    """One sentence from :func:`band_verdicts`' bands: where ``first`` is ahead of ``second``, and where behind.

    Consecutive bands with the same verdict (ahead: the interval above 0; behind: below 0; within noise)
    are named together, each with its gap at its grayest and its most colourful band; the sentence ends
    with where the first loses (ahead everywhere: where its lead is smallest), and how much of the plain AuC's
    difference (every pixel counted once, so the bands weighted by their share of pixels) the bands
    below ``gray_below`` chroma account for.
    """
    bands = [b for b in bands if b["share"] > 0]
    verdict = ["ahead" if b["low"] > 0 else "behind" if b["high"] < 0 else "within noise" for b in bands]
    runs: list[tuple[str, int, int]] = []  # (verdict, first band, last band)
    for k, v in enumerate(verdict):
        if runs and runs[-1][0] == v:
            runs[-1] = (v, runs[-1][1], k)
        else:
            runs.append((v, k, k))
    parts = []
    for v, i, j in runs:
        where = _band_range(bands[i]["lo"], bands[j]["hi"], i == 0, j == len(bands) - 1)
        if v == "within noise":
            parts.append(f"within noise on {where}")
        else:
            if j == i:
                parts.append(f"{v} on {where} (by {abs(bands[i]['difference']):.3f})")
            else:  # how the gap moves from the grayest band of the run to the most colourful one
                ends = [_band_range(bands[k]["lo"], bands[k]["hi"], k == 0, k == len(bands) - 1) for k in (i, j)]
                parts.append(f"{v} on {where} (by {abs(bands[i]['difference']):.3f} on {ends[0]}, "
                             f"{abs(bands[j]['difference']):.3f} on {ends[1]})")
    behind = [k for k, v in enumerate(verdict) if v == "behind"]
    ahead = [k for k, v in enumerate(verdict) if v == "ahead"]
    last = len(bands) - 1
    if not behind and ahead:
        least = min(ahead, key=lambda k: bands[k]["difference"])
        where = _band_range(bands[least]["lo"], bands[least]["hi"], least == 0, least == len(bands) - 1)
        loses = f"it loses AuC nowhere this run can tell, and its lead is smallest on {where}"
    elif not behind:
        loses = "it loses AuC nowhere this run can tell"
    elif len(behind) == len(bands):
        loses = "it loses AuC at every chroma"
    elif (min(behind) > max(ahead)) if ahead else (last in behind and 0 not in behind):
        loses = "it loses AuC where the colour is strong"
    elif (max(behind) < min(ahead)) if ahead else (0 in behind and last not in behind):
        loses = "it loses AuC where the colour is weak"
    else:
        loses = "it loses AuC in some bands and not in others, with no simple order by chroma"
    plain = sum(b["share"] * b["difference"] for b in bands)
    gray = [b for b in bands if b["hi"] <= gray_below]
    gray_share = sum(b["share"] for b in gray)
    gray_part = sum(b["share"] * b["difference"] for b in gray)
    tail = (f"; of its {plain:+.3f} in plain AuC, which counts every pixel once, {gray_part:+.3f} comes from the "
            f"nearly gray pixels (chroma below {gray_below:g}, {gray_share:.0%} of them)" if gray
            else f"; its difference in plain AuC is {plain:+.3f}")
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"Against {second}, {first} is {text}: {loses}{tail}."


def check_chroma_band_auc(fn, first_ab: torch.Tensor, second_ab: torch.Tensor, true_ab: torch.Tensor,
                          first: str = "the L2 regressor", second: str = "the rebalanced classifier",
                          edges: Sequence[float] = CHROMA_EDGES, seed: int = 0) -> None:
    """Check ``fn(pred_ab, true_ab, edges) -> (K,)``, the AuC by band of true chroma; say where ``first`` loses.

    ``fn`` takes float tensors (N, 2, H, W) of unnormalised Lab a and b and K + 1 increasing chroma
    edges (the last may be ``math.inf``) and returns the (K,) AuC of the pixels whose true chroma lies in
    each band [edges[k], edges[k + 1]), every image's pixels pooled (the reference is
    :func:`chroma_band_auc`; values must agree to 1e-5). It is checked on small made-up images, then run
    on ``first_ab`` and ``second_ab``, two colorizers' ab on the held-out images ``true_ab`` (all
    (N, 2, H, W), Lab units), with ``edges`` less its empty bands. The answer compares the two band by
    band with paired bootstrap intervals (:func:`band_verdicts`) and prints :func:`where_it_loses`.
    """
    require_callable(fn, "check_chroma_band_auc", "auc_by_chroma")
    name = name_of(fn, "auc_by_chroma")
    g = rng(8)
    # Three images whose true colours cover every band; the predictions are off by growing amounts.
    hue = torch.rand(3, 6, 6, generator=g) * 2 * math.pi
    chroma = torch.linspace(1.5, 71.5, 36).reshape(1, 6, 6).repeat(3, 1, 1)  # never a whole number: no pixel on an edge
    true = torch.stack([chroma * torch.cos(hue), chroma * torch.sin(hue)], 1)
    pred = true + torch.randn(3, 2, 6, 6, generator=g) * torch.linspace(2, 40, 3).reshape(3, 1, 1, 1)
    cases = [
        case("three made-up images, the course's chroma bands", pred, true, CHROMA_EDGES),
        case("three made-up images, two bands", pred.flip(0), true, (0.0, 25.0, 80.0)),
        case("a perfect prediction", true.clone(), true.clone(), (0.0, 10.0, 30.0, 100.0)),
    ]
    atol = 1e-5
    hints = [
        matches(lambda p, t, e: torch.stack([_auc_variant(p, t).mean()] * (len(e) - 1)),
                "every band has the same value, the AuC of all pixels; keep only the pixels whose TRUE chroma "
                "sqrt(a**2 + b**2) lies in the band", atol, 0),
        matches(_by_predicted_chroma, "that groups the pixels by the chroma of the PREDICTED colour; "
                "group them by the true colour's", atol, 0),
    ]
    # Then the held-out images: both colorizers, with the bands that hold pixels (an empty band at the top
    # merges into the one below it).
    _, true_chroma = _distance_and_chroma(true_ab.detach().double().cpu(), true_ab.detach().double().cpu())
    present = [float(edges[0])] + [float(hi) for lo, hi in zip(edges, list(edges)[1:])
                                   if bool(((true_chroma >= lo) & (true_chroma < hi)).any())]
    present[-1] = float(edges[-1])
    held_out = true_ab.detach().float().cpu()
    cases += [case(f"{label} on the held-out images", pred_ab.detach().float().cpu(), held_out, tuple(present))
              for label, pred_ab in ((first, first_ab), (second, second_ab))]
    compare(fn, name, Reference(chroma_band_auc, "colorlab.checks.measures.chroma_band_auc", atol), cases,
            Explanation(rule="shape {expected}, one AuC per chroma band",
                        element=lambda index, shape: f"the AuC of band {index[0]}", hints=hints))
    print(where_it_loses(band_verdicts(first_ab, second_ab, true_ab, present, seed=seed), first, second))


def _by_predicted_chroma(pred_ab, true_ab, edges):
    """The band AuCs with the pixels grouped by the predicted colour's chroma: a mistake to recognise."""
    distance, _ = _distance_and_chroma(pred_ab, true_ab)
    return _band_means(pixel_auc(distance), torch.hypot(pred_ab[:, 0], pred_ab[:, 1]), edges)
