"""The checker of notebook 06: an image's colour histogram over the 313 bins, Fenu and Bagwell's palette."""

from __future__ import annotations

import torch

from .engine import Explanation, Reference, case, compare, name_of, require_callable, rng


def check_ab_histogram(fn) -> None:
    """Check ``fn(ab) -> histogram``, an image's colour histogram over the 313 bins (Fenu and Bagwell's palette).

    ``ab`` is a float tensor (2,H,W) or (N,2,H,W) of unnormalised Lab a and b. Give every pixel to
    its nearest bin centre (:func:`colorlab.quantize.bin_centers`; :func:`colorlab.quantize.encode_hard`
    does that) and return the share of the image's pixels in each bin: shape (313,) or (N,313), each
    histogram summing to 1. The reference is :func:`colorlab.palette.ab_histogram`; values must agree to 1e-6.
    """
    from ..palette import ab_histogram
    from ..quantize import bin_centers

    __tracebackhide__ = True
    require_callable(fn, "check_ab_histogram", "ab_histogram")
    g = rng(5)
    centers = bin_centers()
    two_colours = torch.empty(2, 4, 4)
    two_colours[:, :, :] = centers[154].view(2, 1, 1)
    two_colours[:, 3, :] = centers[58].view(2, 1)  # a quarter of the pixels
    cases = [
        case("a flat image on one bin centre", centers[200].view(2, 1, 1).expand(2, 3, 5).clone()),
        case("three quarters one colour, one quarter another", two_colours),
        case("random colours", torch.rand(2, 6, 7, generator=g) * 200 - 100),
        case("a random batch", torch.rand(3, 2, 5, 5, generator=g) * 200 - 100),
    ]

    def factors(each):
        shape = each.input_shape
        return {float(shape[-1] * shape[-2]): "these are pixel counts: divide by the number of pixels, H x W"}

    compare(fn, name_of(fn, "ab_histogram"), Reference(ab_histogram, "colorlab.palette.ab_histogram", 1e-6),
            cases,
            Explanation(rule="one share per bin, (313,) for (2,H,W) and (N,313) for (N,2,H,W)",
                        factors=factors))
