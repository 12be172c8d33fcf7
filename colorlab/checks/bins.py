"""Checkers for notebook 05, Zhang et al.'s 313 ab bins: soft encoding, rebalancing weights, the annealed mean.

The edge cases are where the naive formulas break: a colour exactly on a bin centre or
midway between two, colours far outside the gamut where every exp underflows, priors with
empty bins, and logits of +-200 at T = 0.01 where an exp overflows.
"""

from __future__ import annotations

import torch

from .engine import (Case, Explanation, Reference, case, channel_order, compare, image_element, matches, name_of,
                     named_channels, require_callable, rng)


def _soft_variant(ab, k=5, sigma=5.0, two=True, normalise=True, nearest=True, shift=True):
    """Soft encoding with one of its steps changed, for recognising a mistake."""
    from ..quantize import bin_centers

    single = ab.ndim == 3
    x = ab.unsqueeze(0) if single else ab
    n, _, h, w = x.shape
    centers = bin_centers(dtype=torch.float64)
    d2 = ((x.permute(0, 2, 3, 1).reshape(-1, 1, 2).double() - centers[None]) ** 2).sum(-1)  # (P, 313)
    if nearest:
        keep = torch.zeros_like(d2, dtype=torch.bool).scatter_(1, d2.topk(k, largest=False).indices, True)
    else:
        keep = torch.ones_like(d2, dtype=torch.bool)
    ref = d2.min(1, keepdim=True).values if shift else 0.0
    weights = torch.exp(-(d2 - ref) / ((2 if two else 1) * sigma**2)) * keep
    if normalise:
        weights = weights / weights.sum(1, keepdim=True)
    out = weights.reshape(n, h, w, -1).permute(0, 3, 1, 2)
    return out[0] if single else out


def check_soft_encode(fn) -> None:
    """Check ``fn(ab) -> distribution``, Zhang's soft encoding over the 313 ab bins.

    ``ab`` is a float tensor (2,H,W) or (N,2,H,W) of unnormalised Lab a and b (about +-110,
    possibly outside the gamut). For every pixel, weight its 5 nearest bin centres
    (:func:`colorlab.quantize.bin_centers`) by exp(-d**2 / (2 * 5**2)), d the distance to the
    centre, normalise the 5 weights to sum to 1 and give every other bin 0. Return shape
    (313,H,W) or (N,313,H,W). Far outside the gamut every exp underflows: subtract the
    smallest squared distance first. The reference is :func:`colorlab.quantize.soft_encode`;
    values must agree to 1e-4.
    """
    from ..quantize import BIN_CENTERS, soft_encode

    require_callable(fn, "check_soft_encode", "soft_encode")
    g = rng(5)

    def ab(*pairs):
        return torch.tensor(pairs, dtype=torch.float32).T.reshape(2, 1, len(pairs))

    cases = [
        case("exactly on the centre of bin (0, 0)", ab((0, 0))),
        case("exactly on bin centres (-50, 30) and (20, -80)", ab((-50, 30), (20, -80))),
        # (100, -85) has two nearest bins at the same distance but no tie for the 5th nearest
        case("midway between bins (100, -90) and (100, -80)", ab((100, -85))),
        case("outside the gamut at (110, 95)", ab((110, 95))),
        case("far outside the gamut at (-115, -105)", ab((-115, -105))),
        case("random colours", torch.rand(2, 3, 4, generator=g) * 200 - 100),
        case("a random batch", torch.rand(2, 2, 3, 3, generator=g) * 160 - 80),
    ]
    atol = 1e-4  # float32 distances of ~1e4 (far out of gamut) carry ~1e-5 of rounding into the weights
    hints = [
        matches(lambda ab: _soft_variant(ab, two=False), "the Gaussian is exp(-d**2 / (2 sigma**2)), with the 2",
                atol, 0),
        matches(lambda ab: _soft_variant(ab, normalise=False), "normalise the 5 weights of each pixel to sum to 1",
                atol, 0),
        matches(lambda ab: _soft_variant(ab, nearest=False), "only the 5 nearest bins get a weight; the others get 0",
                atol, 0),
    ]

    def bin_name(q: int) -> str:
        a, b = BIN_CENTERS[q]
        return f"bin {q} (a={a:g}, b={b:g})"

    compare(fn, name_of(fn, "soft_encode"), Reference(soft_encode, "colorlab.quantize.soft_encode", atol),
            cases,
            Explanation(rule="shape {expected}, a distribution over the 313 bins for every pixel",
                        element=image_element(bin_name), hints=hints,
                        nan_hint="far from every bin each exp(-d**2 / 50) underflows to 0 and 0/0 is nan; "
                                 "subtract the smallest d**2 of the pixel before exponentiating"))


def check_rebalance_weights(fn) -> None:
    """Check ``fn(prior, lam=0.5) -> weights``, Zhang's class-rebalancing weights.

    ``prior`` is a float64 tensor (313,), a distribution over the bins (>= 0, sums to 1);
    ``lam`` lies in [0, 1]. Return the (313,) weights w proportional to
    1 / ((1 - lam) * prior + lam / 313), scaled so that sum(prior * w) == 1. With lam = 0 a
    bin of prior 0 gets weight 0, not infinity. The reference is
    :func:`colorlab.quantize.rebalance_weights`; values must agree to a relative 1e-5.
    """
    from ..color import rgb_to_lab
    from ..data import load_photo
    from ..quantize import BIN_CENTERS, NUM_BINS, class_prior, rebalance_weights

    require_callable(fn, "check_rebalance_weights", "rebalance_weights")
    rgb = torch.from_numpy(load_photo("coffee")[150:214, 250:314]).permute(2, 0, 1).double() / 255
    ab = rgb_to_lab(rgb)[1:]
    smooth = class_prior(ab)  # Zhang's smoothed prior: every bin > 0
    raw = class_prior(ab, sigma=None)  # raw frequencies: most bins 0
    uniform = torch.full((NUM_BINS,), 1 / NUM_BINS, dtype=torch.float64)
    empty = int((raw == 0).sum())
    cases = [
        Case("the smoothed prior of a photo, lam left at its default", (smooth,), {}, (NUM_BINS,)),
        Case("the smoothed prior of a photo, lam=0", (smooth,), {"lam": 0.0}, (NUM_BINS,)),
        Case(f"a prior with {empty} empty bins, lam=0", (raw,), {"lam": 0.0}, (NUM_BINS,)),
        Case(f"a prior with {empty} empty bins, lam=0.5", (raw,), {"lam": 0.5}, (NUM_BINS,)),
        Case(f"a prior with {empty} empty bins, lam=1", (raw,), {"lam": 1.0}, (NUM_BINS,)),
        Case("the uniform prior, lam=0.5", (uniform,), {"lam": 0.5}, (NUM_BINS,)),
    ]

    def weight_of(index: tuple, shape: tuple) -> str:
        a, b = BIN_CENTERS[index[0]]
        return f"the weight of bin {index[0]} (a={a:g}, b={b:g})"

    compare(fn, name_of(fn, "rebalance_weights"),
            Reference(rebalance_weights, "colorlab.quantize.rebalance_weights", 1e-9, 1e-5), cases,
            Explanation(rule="shape {expected}, one weight per bin", element=weight_of,
                        nan_hint="with lam=0 a bin of prior 0 gives 1/0; give those bins weight 0 "
                                 "(and mind that 0 * inf is nan in sum(prior * w))",
                        proportional="; scale the weights so that sum(prior * w) == 1"))


def check_annealed_mean(fn) -> None:
    """Check ``fn(logits, temperature) -> ab``, Zhang's annealed mean.

    ``logits`` is a float tensor (313,H,W) or (N,313,H,W), one score per bin and pixel;
    ``temperature`` T > 0. Return ab, shape (2,H,W) or (N,2,H,W): the mean of the bin
    centres (:func:`colorlab.quantize.bin_centers`) weighted by softmax(logits / T) over the
    bins. T = 1 is the plain mean, small T approaches the most probable bin. It must stay
    finite for logits of +-200 at T = 0.01, where a naive exp overflows. The reference is
    :func:`colorlab.quantize.annealed_mean`; values must agree to 1e-3 (ab units).
    """
    from ..quantize import annealed_mean

    require_callable(fn, "check_annealed_mean", "annealed_mean")
    g = rng(6)
    # At T = 0.01 every pixel has one clear winner (10 above the rest), except pixel (0, 1),
    # where two bins tie for the top: the answer is then exactly midway between their centres.
    huge = torch.rand(1, 313, 2, 2, generator=g) * 390 - 200
    winners = torch.randint(0, 313, (2, 2), generator=g)
    huge[0, winners, torch.arange(2)[:, None], torch.arange(2)[None, :]] = 200.0
    huge[0, (int(winners[0, 1]) + 100) % 313, 0, 1] = 200.0
    cases = [
        case("T=1, the plain mean", torch.randn(313, 2, 3, generator=g) * 3, 1.0),
        case("T=0.38, Zhang's temperature", torch.randn(2, 313, 2, 2, generator=g) * 3, 0.38),
        case("equal logits, T=0.38", torch.zeros(313, 1, 1), 0.38),
        case("T=0.89, Li and Wang's temperature", torch.randn(313, 3, 2, generator=g) * 3, 0.89),
        case("T=0.01 with logits up to +-200", huge, 0.01),
    ]
    atol, rtol = 1e-3, 1e-5
    times_t = matches(lambda logits, t: annealed_mean(logits * t * t, t),
                      "that is softmax(logits * T); divide the logits by T", atol, rtol)
    compare(fn, name_of(fn, "annealed_mean"),
            Reference(annealed_mean, "colorlab.quantize.annealed_mean", atol, rtol), cases,
            Explanation(rule="shape {expected}: a and b for every pixel", element=named_channels("ab"),
                        hints=[times_t, channel_order(("a", "b"), atol, rtol)],
                        nan_hint="exp(logits / T) overflows to inf and inf/inf is nan; subtract the max logit "
                                 "before exponentiating (or use torch.softmax)"))
