"""Checkers for the desaturation diagnoses of notebooks 03 and 04: which colours a regressor loses, and where its hues go.

Both exercises measure trained networks rather than copy a formula. Each checker first runs
the student's function next to the reference of this module on small fixed cases (an empty
bin, hues on both sides of the 0/360 degree wrap, gray pixels), then on the notebook's own
predictions, and answers the notebook's question in one sentence chosen from the numbers.

- :func:`chroma_kept` (notebook 03): for pixels grouped by their true chroma, the mean
  predicted chroma over the mean true chroma;
- :func:`share_near_hue` (notebook 04): the share of coloured pixels whose hue lies within
  an angle of a given colour's hue, the sepia measured as hues huddling around the mean.
"""

from __future__ import annotations

import math

import torch

from .engine import (Case, CheckFailed, Explanation, Reference, as_result, call, check_values, copy, matches, name_of,
                     require_callable, rng, success)


def _ab_batch(ab, what: str) -> torch.Tensor:
    ab = torch.as_tensor(ab)
    if ab.ndim != 4 or ab.shape[1] != 2 or not ab.is_floating_point():
        raise ValueError(f"{what} must be a float (N, 2, H, W) tensor of Lab a and b, got "
                         f"{ab.dtype} {tuple(ab.shape)}")
    return ab


def chroma_kept(pred_ab: torch.Tensor, true_ab: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """How much of the true chroma a prediction keeps, for pixels grouped by their true chroma.

    Parameters
    ----------
    pred_ab, true_ab : float tensors (N, 2, H, W), Lab a and b (about +-110), the same shape
    edges : float tensor (K + 1,), increasing bin edges of the true chroma sqrt(a**2 + b**2);
        a pixel belongs to bin k when edges[k] <= chroma < edges[k + 1]

    Returns
    -------
    float tensor (K,), on the CPU: for each bin, the mean predicted chroma of its pixels divided
    by their mean true chroma (1 = all kept, 0 = gray); NaN for a bin with no pixel, or whose
    pixels are all exactly gray.
    """
    pred_ab, true_ab = _ab_batch(pred_ab, "pred_ab"), _ab_batch(true_ab, "true_ab")
    if pred_ab.shape != true_ab.shape:
        raise ValueError(f"pred_ab {tuple(pred_ab.shape)} and true_ab {tuple(true_ab.shape)} must have the same shape")
    edges = torch.as_tensor(edges).detach().cpu().double()
    true_chroma = true_ab.detach().cpu().double().norm(dim=1).flatten()
    pred_chroma = pred_ab.detach().cpu().double().norm(dim=1).flatten()
    kept = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (true_chroma >= low) & (true_chroma < high)
        true_mean = true_chroma[inside].mean() if inside.any() else torch.tensor(math.nan, dtype=torch.float64)
        kept.append(pred_chroma[inside].mean() / true_mean if true_mean > 0 else torch.tensor(math.nan))
    return torch.stack([torch.as_tensor(k, dtype=torch.float64) for k in kept])


def hue_degrees(ab: torch.Tensor) -> torch.Tensor:
    """The hue of Lab colours, the angle of (a, b) in degrees in (-180, 180]: ``ab`` (..., 2, H, W) -> (..., H, W)."""
    return torch.rad2deg(torch.atan2(ab[..., 1, :, :], ab[..., 0, :, :]))


def share_near_hue(ab: torch.Tensor, centre_ab: torch.Tensor, within: float = 45.0,
                   min_chroma: float = 5.0) -> torch.Tensor:
    """The share of coloured pixels whose hue lies within ``within`` degrees of ``centre_ab``'s hue.

    Parameters
    ----------
    ab : float tensor (N, 2, H, W), Lab a and b (about +-110)
    centre_ab : float tensor (2,), a colour (a, b) with non-zero chroma, e.g. the mean training colour
    within : float in [0, 180], degrees
    min_chroma : float >= 0: a pixel counts as coloured when sqrt(a**2 + b**2) >= min_chroma

    Returns
    -------
    0-d float64 tensor in [0, 1], on the CPU: among the coloured pixels, the share whose hue differs
    from the centre's by at most ``within`` degrees around the circle (so 350 and 10 degrees are 20
    apart); NaN when no pixel is coloured.
    """
    ab = _ab_batch(ab, "ab").detach().cpu().double()
    centre = torch.as_tensor(centre_ab).detach().cpu().double().reshape(2, 1, 1)
    coloured = ab.norm(dim=1) >= min_chroma
    if not coloured.any():
        return torch.tensor(math.nan, dtype=torch.float64)
    difference = (hue_degrees(ab) - hue_degrees(centre)).abs() % 360
    difference = torch.minimum(difference, 360 - difference)  # the short way round the circle
    return (difference[coloured] <= within).double().mean()


def coloured_share(ab: torch.Tensor, min_chroma: float = 5.0) -> float:
    """The share of pixels of ``ab`` (N, 2, H, W), Lab units, whose chroma is at least ``min_chroma``."""
    return float((_ab_batch(ab, "ab").detach().norm(dim=1) >= min_chroma).double().mean())


# ------------------------------------------------------------------ comparing, NaN where the reference has NaN


def _compare_with_nan(fn, name: str, reference: Reference, cases: list[Case], explanation: Explanation,
                      nan_meaning: str) -> float:
    """:func:`engine.compare` for results that may be NaN by design: NaN exactly where the reference's is NaN."""
    __tracebackhide__ = True
    worst = 0.0
    for i, each in enumerate(cases):
        want = torch.as_tensor(reference.fn(*copy(each.args, upcast=True), **copy(each.kwargs, upcast=True))).double()
        wanted = "a 0-d tensor" if want.ndim == 0 else "a 1-D tensor"
        got = as_result(call(fn, each, name, first=i == 0), name, each.label, wanted)
        if tuple(got.shape) != tuple(want.shape):
            raise CheckFailed(f'{name} returned shape {tuple(got.shape)} on "{each.label}"; it should return '
                              f"{explanation.rule.format(expected=tuple(want.shape))}.") from None
        want_nan, got_nan = torch.isnan(want), torch.isnan(got)
        if (want_nan & ~got_nan).any():
            index = tuple(int(k) for k in (want_nan & ~got_nan).nonzero()[0])
            what = explanation.element(index, tuple(got.shape)) if got.ndim else "the result"
            raise CheckFailed(f'{name} gives {float(got[index]):.4g} for {what} on "{each.label}" where '
                              f"{reference.name} gives NaN — hint: {nan_meaning}.") from None
        both = torch.where(want_nan, torch.zeros_like(want), want), torch.where(want_nan, torch.zeros_like(got), got)
        worst = max(worst, check_values(both[1], both[0], each, name, reference, explanation))
    return worst


# ------------------------------------------------------------------ notebook 03: which pixels lose their colour


def _ab_pixels(*pairs) -> torch.Tensor:
    """A (1, 2, 1, k) float32 ab image of the given (a, b) pairs."""
    return torch.tensor(pairs, dtype=torch.float32).T.reshape(1, 2, 1, len(pairs))


def _bin_names(edges: torch.Tensor):
    def element(index: tuple, shape: tuple) -> str:
        k = index[0]
        return f"bin {k} (true chroma {float(edges[k]):g} to {float(edges[k + 1]):g})"
    return element


def _percent(x: float) -> str:
    return f"{100 * x:.0f} %"


def check_chroma_kept(fn, predictions: dict, true_ab: torch.Tensor, edges: torch.Tensor) -> None:
    """Check ``fn(pred_ab, true_ab, edges) -> kept`` (see :func:`chroma_kept`), then answer on the notebook's networks.

    ``predictions`` maps a network's name (e.g. "AE, mse") to its predicted ab, a float tensor
    (N, 2, H, W) in Lab units for the held-out images whose true ab is ``true_ab`` (the same
    shape); ``edges`` (K + 1,) the chroma bins. The student's values must agree with
    :func:`chroma_kept` to 1e-4 (NaN where it is NaN), first on fixed cases, then on each
    network's predictions. Prints ✓ and one sentence: how much of the chroma of the least and
    of the most colourful pixels each network keeps, and whether the loss grows with the
    colour's strength. Returns None.
    """
    require_callable(fn, "check_chroma_kept", "chroma_kept")
    name = name_of(fn, "chroma_kept")
    g = rng(17)
    small_edges = torch.tensor([0.0, 10.0, 30.0, 200.0])
    true_random = torch.randn(2, 2, 5, 6, generator=g) * 25
    cases = [
        Case("three pixels of true chroma 5, 20 and 50, predicted at half their chroma",
             (0.5 * _ab_pixels((3, 4), (0, 20), (-30, 40)), _ab_pixels((3, 4), (0, 20), (-30, 40)), small_edges), {},
             (1, 2, 1, 3)),
        Case("an empty middle bin (no true chroma between 10 and 30)",
             (_ab_pixels((1, 1), (40, 0)), _ab_pixels((3, 4), (50, 0)), small_edges), {}, (1, 2, 1, 2)),
        Case("a prediction with the true chroma but another hue",
             (_ab_pixels((-4, -3), (20, 0), (50, 0)), _ab_pixels((3, 4), (0, 20), (-30, 40)), small_edges), {},
             (1, 2, 1, 3)),
        Case("random colours, a batch of 2", (true_random * 0.4 + torch.randn(2, 2, 5, 6, generator=g) * 5,
                                               true_random, small_edges), {}, (2, 2, 5, 6)),
    ]
    explanation = Explanation(
        rule="shape {expected}, one value per chroma bin (len(edges) - 1)", element=_bin_names(small_edges),
        hints=[matches(lambda p, t, e: _kept_variant(p, t, e, per_pixel=True),
                       "that is the mean of each pixel's own ratio; divide the mean predicted chroma by the mean "
                       "true chroma of the bin", 1e-4, 1e-4),
               matches(lambda p, t, e: _kept_variant(p, t, e, by_pred=True),
                       "the pixels are grouped by their PREDICTED chroma; group them by their TRUE chroma", 1e-4, 1e-4)])
    reference = Reference(chroma_kept, "colorlab.checks.desaturation.chroma_kept", 1e-4, 1e-4)
    nan_meaning = "a bin without pixels has no mean: return NaN for it (0 / 0 in float64 gives NaN, not an error)"
    worst = _compare_with_nan(fn, name, reference, cases, explanation, nan_meaning)

    edges = torch.as_tensor(edges).double()
    kept = {}
    for network, pred_ab in predictions.items():
        each = Case(f"the predictions of {network}", (pred_ab, true_ab, edges), {}, tuple(pred_ab.shape))
        worst = max(worst, _compare_with_nan(fn, name, reference, [each],
                                             Explanation(rule="shape {expected}, one value per chroma bin",
                                                         element=_bin_names(edges)), nan_meaning))
        kept[network] = chroma_kept(pred_ab, true_ab, edges)
    success(name, reference.name, f"{len(cases)} fixed inputs and the predictions of {len(predictions)} networks",
            worst)
    print(chroma_kept_sentence(kept, edges))


def _kept_variant(pred_ab, true_ab, edges, per_pixel=False, by_pred=False):
    """chroma_kept with one step changed, to recognise a mistake."""
    true_chroma, pred_chroma = true_ab.norm(dim=1).flatten(), pred_ab.norm(dim=1).flatten()
    key = pred_chroma if by_pred else true_chroma
    out = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (key >= low) & (key < high)
        if not inside.any():
            out.append(math.nan)
        elif per_pixel:
            out.append(float((pred_chroma[inside] / true_chroma[inside]).mean()))
        else:
            out.append(float(pred_chroma[inside].mean() / true_chroma[inside].mean()))
    return torch.tensor(out, dtype=torch.float64)


def chroma_kept_sentence(kept: dict, edges: torch.Tensor) -> str:
    """One sentence from :func:`chroma_kept`'s values of each network (name -> (K,) tensor) over the same ``edges``."""
    edges = torch.as_tensor(edges).double()
    parts, falls, tinted = [], [], []
    for network, values in kept.items():
        filled = [k for k in range(len(values)) if not math.isnan(float(values[k]))]
        if not filled:
            parts.append(f"{network} has no pixel in any bin")
            continue
        low, high = filled[0], filled[-1]
        top = f"{float(edges[high]):g}+" if math.isinf(float(edges[high + 1])) else \
            f"{float(edges[high]):g}-{float(edges[high + 1]):g}"
        parts.append(f"{network} predicts {_percent(float(values[low]))} of the true chroma for the grayest pixels "
                     f"(true chroma {float(edges[low]):g}-{float(edges[low + 1]):g}) but "
                     f"{_percent(float(values[high]))} for the most colourful ({top})")
        falls.append(float(values[high]) < float(values[low]) - 0.05)
        tinted.append(float(values[low]) > 1.05)
    if falls and all(falls) and all(tinted):
        moral = ("every pixel is pulled towards one middling chroma: the grayest get a tint they do not have, and "
                 "the averaging takes most from the strongest colours")
    elif falls and all(falls):
        moral = "the averaging takes most from the strongest colours"
    elif not any(falls):
        moral = "the share kept does not fall with the colour's strength"
    else:
        moral = "the networks differ in whether the strongest colours lose the most"
    return "; ".join(parts) + f": {moral}."


# ------------------------------------------------------------------ notebook 04: the sepia, hues around the mean colour


def _share_variant(ab, centre_ab, within=45.0, min_chroma=5.0, wrap=True, coloured_only=True):
    """share_near_hue with one step changed, to recognise a mistake."""
    ab, centre = ab.double(), torch.as_tensor(centre_ab).double().reshape(2, 1, 1)
    coloured = ab.norm(dim=1) >= min_chroma if coloured_only else torch.ones(ab.shape[0], *ab.shape[2:], dtype=bool)
    difference = (hue_degrees(ab) - hue_degrees(centre)).abs()
    if wrap:
        difference = torch.minimum(difference % 360, 360 - difference % 360)
    return (difference[coloured] <= within).double().mean() if coloured.any() else torch.tensor(math.nan)


def check_share_near_hue(fn, predictions: dict, true_ab: torch.Tensor, centre_ab: torch.Tensor,
                         within: float = 45.0, min_chroma: float = 5.0) -> None:
    """Check ``fn(ab, centre_ab, within, min_chroma) -> share`` (see :func:`share_near_hue`), then answer on the networks.

    ``predictions`` maps a network's name to its predicted ab, float (N, 2, H, W) in Lab units,
    for the held-out images whose true ab is ``true_ab``; ``centre_ab`` (2,) the mean training
    colour. The student's value must agree with :func:`share_near_hue` to 1e-6 (NaN where it is
    NaN) on fixed cases, then on the truth and on each prediction. Prints ✓ and one sentence: how
    many of each network's coloured pixels lie within ``within`` degrees of the mean colour's hue
    against the truth's, and whether the regression falls back on the average colour. Returns None.
    """
    require_callable(fn, "check_share_near_hue", "share_near_hue")
    name = name_of(fn, "share_near_hue")
    g = rng(4)
    # The centre points at 170 degrees; a pixel at -170 is 20 degrees away the short way round.
    across_wrap = _ab_pixels(*[(20 * math.cos(math.radians(d)), 20 * math.sin(math.radians(d)))
                               for d in (-170, 150, 100, -120)])
    centre_170 = torch.tensor([math.cos(math.radians(170)), math.sin(math.radians(170))], dtype=torch.float32) * 10
    cases = [
        Case("four colours around a centre at 170 degrees, one across the wrap at -170",
             (across_wrap, centre_170), {"within": 45.0, "min_chroma": 5.0}, tuple(across_wrap.shape)),
        Case("two coloured pixels and two nearly gray ones, within=30",
             (_ab_pixels((10, 10), (-10, 10), (1, 1), (2, 1)), torch.tensor([5.0, 5.0])),
             {"within": 30.0, "min_chroma": 5.0}, (1, 2, 1, 4)),
        Case("only gray pixels", (_ab_pixels((1, 0), (0, -2)), torch.tensor([2.0, 8.0])),
             {"within": 45.0, "min_chroma": 5.0}, (1, 2, 1, 2)),
        Case("random colours, a batch of 2", (torch.randn(2, 2, 6, 5, generator=g) * 30, torch.tensor([3.0, 12.0])),
             {"within": 45.0, "min_chroma": 5.0}, (2, 2, 6, 5)),
    ]
    explanation = Explanation(
        rule="a 0-d tensor, one share", hints=[
            matches(lambda ab, c, within, min_chroma: _share_variant(ab, c, within, min_chroma, wrap=False),
                    "hue is an angle: 350 and 10 degrees are 20 apart; take the difference the short way round "
                    "(min(d, 360 - d) of d = |difference| % 360)", 1e-6, 0),
            matches(lambda ab, c, within, min_chroma: _share_variant(ab, c, within, min_chroma, coloured_only=False),
                    "count only the coloured pixels (chroma >= min_chroma): a gray pixel has no hue", 1e-6, 0),
            matches(lambda ab, c, within, min_chroma: _share_variant(ab, c, math.degrees(within), min_chroma),
                    "within is in degrees; atan2 gives radians (torch.rad2deg converts)", 1e-6, 0)])
    reference = Reference(share_near_hue, "colorlab.checks.desaturation.share_near_hue", 1e-6)
    nan_meaning = "with no coloured pixel there is no share: return NaN (a mean of nothing), not 0"
    worst = _compare_with_nan(fn, name, reference, cases, explanation, nan_meaning)

    shares, coloured = {}, {}
    for network, ab in {"truth": true_ab, **predictions}.items():
        each = Case(f"the {network}" if network == "truth" else f"the predictions of {network}",
                    (ab, centre_ab), {"within": within, "min_chroma": min_chroma}, tuple(ab.shape))
        worst = max(worst, _compare_with_nan(fn, name, reference, [each], Explanation(rule="a 0-d tensor, one share"),
                                             nan_meaning))
        shares[network] = float(share_near_hue(ab, centre_ab, within, min_chroma))
        coloured[network] = coloured_share(ab, min_chroma)
    success(name, reference.name, f"{len(cases)} fixed inputs, the truth and {len(predictions)} networks' predictions",
            worst)
    print(share_near_hue_sentence(shares, coloured, within))


def share_near_hue_sentence(shares: dict, coloured: dict, within: float = 45.0) -> str:
    """One sentence from :func:`share_near_hue` ("truth" and each network's) and the share of coloured pixels."""
    truth = shares["truth"]
    parts, huddled, faded = [], [], []
    for network, share in shares.items():
        if network == "truth":
            continue
        parts.append(f"{network} puts {_percent(share)} of its coloured pixels within {within:g}° of the mean "
                     f"training colour's hue ({_percent(coloured[network])} of its pixels are coloured at all)")
        huddled.append(share > truth + 0.1)
        faded.append(coloured[network] < 0.75 * coloured["truth"])
    truth_part = f"the truth {_percent(truth)} ({_percent(coloured['truth'])} coloured)"
    if huddled and all(huddled):
        moral = ("the regression falls back on the average colour (its hues huddle around the mean's"
                 + (", and fewer of its pixels are coloured at all" if all(faded) else "") + "), which is the sepia")
    elif faded and all(faded):
        moral = ("its hues do not huddle around the mean's more than the truth's, but far fewer pixels are coloured "
                 "at all: the regression falls back on gray rather than on the average hue")
    elif not any(huddled) and not any(faded):
        moral = "here the predicted hues spread about as the true ones do: no fall-back on the average colour"
    else:
        moral = "only some of the networks fall back on the average colour"
    return "; ".join(parts) + f", against {truth_part}: {moral}."
