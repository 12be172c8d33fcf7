"""The checker of notebook 05's ablation: pure inverse-frequency rebalancing against Zhang et al.'s lambda = 0.5.

Zhang, Isola and Efros ("Colorful Image Colorization") weight each pixel's cross-entropy by
w proportional to ((1 - lambda) p + lambda / Q)^-1, p the smoothed prior of its colour's bin and
Q = 313, and choose lambda = 1/2. At lambda = 0 the weight is pure inverse frequency, 1 / p: a
pixel of a colour seen once in a million outweighs a million gray ones. The student trains that
classifier and writes :func:`rare_colour_share`, the share of each image's pixels painted in a
colour whose bin is rarer than uniform (prior below 1/313); :func:`check_inverse_frequency` checks
the function and the training run, measures both classifiers on the held-out images (the rare
share with a paired bootstrap interval from :func:`colorlab.results.paired_difference`, colourfulness
and UV loss from :func:`colorlab.results.score_outputs`) and answers in one sentence what lambda = 0 did to the
colours (:func:`inverse_frequency_sentence`).
"""

from __future__ import annotations

from dataclasses import fields

import torch

from .engine import (CheckFailed, ExerciseNotDone, Explanation, Reference, case, compare, matches, name_of,
                     num, require_callable, rng)

PURE_INVERSE = 0.0  # the lambda of pure inverse frequency: w = 1 / p


def rare_colour_share(ab: torch.Tensor, prior: torch.Tensor, threshold: float | None = None) -> torch.Tensor:
    """The share of each image's pixels whose nearest bin is rarer than ``threshold`` in ``prior``.

    Parameters
    ----------
    ab : float tensor (N, 2, H, W), unnormalised Lab a and b (about +-110)
    prior : float tensor (313,), the class prior of the training images (non-negative, sums to 1)
    threshold : float > 0 or None; None is the uniform share 1/313, so "rare" means rarer than if every
        bin were equally common

    Returns a float64 tensor (N,) in [0, 1] on the CPU, one share per image.
    """
    from ..quantize import NUM_BINS, encode_hard

    limit = 1.0 / NUM_BINS if threshold is None else float(threshold)
    bins = encode_hard(ab)  # (N, H, W): each pixel's nearest bin
    rare = prior.to(device=bins.device, dtype=torch.float64)[bins] < limit
    return rare.flatten(1).double().mean(1).cpu()


def _verdict(lo: float, hi: float, above: str, below: str, neither: str) -> str:
    """``above`` when the interval lies above 0, ``below`` when below, else ``neither``."""
    return above if lo > 0 else below if hi < 0 else neither


def _check_function(fn, prior: torch.Tensor, true_ab: torch.Tensor) -> None:
    """Compare the student's ``rare_colour_share`` with the reference on edge cases and the held-out truth."""
    from ..quantize import bin_centers

    __tracebackhide__ = True
    prior = prior.detach().cpu().double()
    centers = bin_centers()
    order = torch.argsort(prior, descending=True)
    common, rarest = centers[order[0]], centers[order[-1]]
    half = torch.empty(1, 2, 2, 4)
    half[:, :, 0, :] = common.view(2, 1)
    half[:, :, 1, :] = rarest.view(2, 1)
    random = torch.rand(3, 2, 4, 5, generator=rng(17)) * 200 - 100
    cases = [
        case("a flat image on the most common bin", common.view(1, 2, 1, 1).expand(1, 2, 3, 3).clone(), prior),
        case("a flat image on the rarest bin", rarest.view(1, 2, 1, 1).expand(1, 2, 3, 3).clone(), prior),
        case("half the pixels on the most common bin, half on the rarest", half, prior),
        case("random colours", random, prior),
        case("random colours, threshold=1e-2", random, prior, threshold=1e-2),
        case("the first 64 held-out images", true_ab[:64].detach().cpu().float(), prior),
    ]
    common_share = matches(lambda ab, p, threshold=None: 1 - rare_colour_share(ab, p, threshold),
                           "that is the share of the common colours; count the pixels whose bin's prior is "
                           "BELOW the threshold", 1e-6, 0)
    compare(fn, name_of(fn, "rare_colour_share"),
            Reference(rare_colour_share, "colorlab.checks.rebalancing.rare_colour_share", 1e-6), cases,
            Explanation(rule="shape {expected}: one share per image, the mean over its pixels",
                        hints=[common_share]))


def _check_run(config, history, like) -> None:
    """The training run must be pure inverse frequency and otherwise the run it is compared with."""
    __tracebackhide__ = True
    if history is None or not getattr(history, "step", None):
        raise ExerciseNotDone("the inverse-frequency classifier is not trained yet: train it with course.train in "
                              "the exercise cell, keep what it returns, then run this check again.")
    lam = getattr(config, "rebalance", "missing")
    if lam is None:
        raise CheckFailed("the classifier was trained with rebalance=None, no rebalancing at all; pure inverse "
                          "frequency is rebalance=0.0 (w = 1 / p).") from None
    if lam != PURE_INVERSE:
        meaning = {1.0: "every weight 1, which is no rebalancing at all", 0.5: "Zhang et al.'s own mixture"}.get(
            lam, "a mixture of inverse frequency and uniform weights")
        raise CheckFailed(f"the classifier was trained with rebalance={lam!r}, {meaning}; in "
                          "w = 1 / ((1 - lambda) p + lambda / 313) pure inverse frequency is lambda = 0, so train "
                          "with rebalance=0.0.") from None
    for field in fields(like):
        if field.name != "rebalance" and getattr(config, field.name) != getattr(like, field.name):
            raise CheckFailed(f"the classifier was trained with {field.name}={getattr(config, field.name)!r} and the "
                              f"lambda = 0.5 one with {field.name}={getattr(like, field.name)!r}; a fair comparison "
                              f"changes only rebalance (use course.train_config(rebalance=0.0, lr=2e-3), as "
                              f"section 4 does).") from None


def inverse_frequency_sentence(rare: dict, colourfulness: dict, uv_difference: tuple, rare_difference: tuple,
                               colour_difference: tuple, cut_short: bool = False) -> str:
    """The one-sentence answer: what pure inverse frequency did to the colours, from the measured numbers.

    ``rare``: mean rare-colour share (floats in [0, 1]) for keys "inverse", "zhang" and "truth";
    ``colourfulness``: mean colourfulness for the same keys; ``uv_difference``, ``rare_difference``,
    ``colour_difference``: (difference, lo, hi) of the lambda = 0 network minus the lambda = 0.5 one
    in UV loss, rare share and colourfulness, each with its 95 % paired interval.
    """
    _, rare_lo, rare_hi = rare_difference
    uv, uv_lo, uv_hi = uv_difference
    colour, colour_lo, colour_hi = colour_difference
    more_rare = _verdict(rare_lo, rare_hi, "more", "fewer", "about as many")
    colourful = _verdict(colour_lo, colour_hi, "more colourful than", "less colourful than",
                         "as colourful (within noise) as")
    uv_word = _verdict(uv_lo, uv_hi, "further from", "closer to", "as close (within noise) to")
    overpaints = rare["inverse"] > rare["truth"] and rare_lo > 0
    if overpaints and uv_lo > 0:
        why = ("so pure inverse frequency paints rare colours where the truth has common ones and pays for it, "
               "which is what Zhang et al.'s lambda = 0.5 prevents: its uniform half caps every weight")
    elif overpaints and uv_hi < 0:
        duller = ", the rare colours it picks being duller ones" if colour_hi < 0 else ""
        why = ("so it paints rare colours where the truth has common ones, yet on this run without a price in UV "
               f"loss{duller}; Zhang et al.'s lambda = 0.5 is the milder push")
    elif overpaints:
        why = ("so it paints rare colours where the truth has common ones, though the UV loss cannot tell the "
               "price on this run; Zhang et al.'s lambda = 0.5 caps every weight with its uniform half")
    elif rare_lo > 0:
        why = ("so inverse frequency pushes towards rare colours, yet not beyond the truth's share here; Zhang "
               "et al.'s lambda = 0.5 is the milder push")
    else:
        why = ("so on this run pure inverse frequency did not push the network towards rare colours beyond "
               "Zhang et al.'s lambda = 0.5")
    note = " (its run was cut short, so this is not the full run's answer)" if cut_short else ""
    return (f"With pure inverse frequency (lambda = 0) the classifier paints {rare['inverse']:.0%} of the pixels in "
            f"colours rarer than uniform, {more_rare} than at lambda = 0.5 ({rare['zhang']:.0%}; the truth "
            f"{rare['truth']:.0%}); it is {colourful} the lambda = 0.5 network (colourfulness "
            f"{colourfulness['inverse']:.1f} against {colourfulness['zhang']:.1f}, the truth "
            f"{colourfulness['truth']:.1f}; difference {colour:+.1f}, 95 % interval [{colour_lo:+.1f}, "
            f"{colour_hi:+.1f}]) and {uv_word} the truth in UV loss (difference {num(uv)}, interval "
            f"[{num(uv_lo)}, {num(uv_hi)}]), {why}{note}.")


def check_inverse_frequency(fn, inverse, config, history, rebalanced, rebalanced_config, truth: torch.Tensor,
                            prior: torch.Tensor, temperature: float | None = None) -> None:
    """Check notebook 05's ablation: the rare-colour share and a classifier trained with pure inverse frequency.

    ``fn(ab, prior, threshold=None) -> (N,)`` is the student's :func:`rare_colour_share` (``ab`` float
    (N,2,H,W) in Lab units, ``prior`` (313,), ``threshold`` None for 1/313); values must agree to
    1e-6. ``inverse`` is the classifier trained with ``config`` (a :class:`colorlab.train.TrainConfig`,
    which must have ``rebalance=0.0`` and otherwise equal ``rebalanced_config``) and ``history`` the
    History that ``course.train`` returned for it; ``rebalanced`` the lambda = 0.5 classifier of
    section 4. ``truth`` is the held-out float RGB (N,3,H,W) in [0, 1] on the networks' device and
    ``prior`` the training images' class prior (313,). Both networks are decoded by the annealed mean
    at ``temperature`` (None: Zhang's 0.38) and scored on ``truth``. Prints the ✓ line and the
    one-sentence answer; returns None.
    """
    from ..color import l_ab_to_rgb, normalize_l, rgb_to_l_ab
    from ..colorize import predict_ab
    from ..quantize import ZHANG_TEMPERATURE
    from ..results import paired_difference, score_outputs

    __tracebackhide__ = True
    require_callable(fn, "check_inverse_frequency", "rare_colour_share")
    t = ZHANG_TEMPERATURE if temperature is None else float(temperature)
    l_test, true_ab = rgb_to_l_ab(truth)
    _check_function(fn, prior, true_ab)
    _check_run(config, history, rebalanced_config)
    if inverse is rebalanced:
        raise CheckFailed("the inverse-frequency classifier is the lambda = 0.5 one itself; build a new network "
                          "with build_model and train that.") from None

    with torch.no_grad():
        decoded = {"inverse": predict_ab(inverse, normalize_l(l_test), "annealed", t),
                   "zhang": predict_ab(rebalanced, normalize_l(l_test), "annealed", t)}
    rgb = {key: l_ab_to_rgb(l_test, ab) for key, ab in decoded.items()}
    table = score_outputs({"inverse": rgb["inverse"], "zhang": rgb["zhang"], "truth": truth}, truth)
    shares = {key: rare_colour_share(ab, prior) for key, ab in (*decoded.items(), ("truth", true_ab))}
    rare = {key: float(value.mean()) for key, value in shares.items()}
    colourfulness = {key: table.mean(key, "colorfulness") for key in ("inverse", "zhang", "truth")}
    print(inverse_frequency_sentence(
        rare, colourfulness, uv_difference=table.difference("inverse", "zhang", "uv_loss"),
        rare_difference=paired_difference(shares["inverse"], shares["zhang"]),
        colour_difference=table.difference("inverse", "zhang", "colorfulness"),
        cut_short=history.steps_done < config.steps))
