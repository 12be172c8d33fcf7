"""The checkers of notebook 06, Fenu and Bagwell's palette: an image's colour histogram, and whether the network uses it.

:func:`check_ab_histogram` checks the histogram over the 313 bins against
:func:`colorlab.palette.ab_histogram`. :func:`check_donor_overlap` checks the ablation: each held-out
image coloured with another image's true palette (:func:`donor_overlap`), the output's colours
compared with the donor's palette and with the image's own by histogram intersection
(:func:`histogram_overlap`), and answers in one sentence whether the palette moved the colours
(:func:`palette_use_sentence`).
"""

from __future__ import annotations

import torch

from .engine import (Case, CheckFailed, Explanation, Reference, as_result, call, case, check_values, compare, name_of,
                     require_callable, rng, success)
from ..results import paired_difference


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


# ------------------------------------------------------------------ does the palette network use the palette?


def histogram_overlap(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """The histogram intersection sum_q min(p_q, q_q): the share of pixels two palettes have in common.

    ``p`` and ``q`` are float tensors (..., 313) of histograms (non-negative, each summing to 1), on
    one device; the result has their batch shape, values in [0, 1] (1 for equal palettes, 0 for
    palettes with no bin in common). It is 1 minus :func:`colorlab.palette.histogram_distance`.
    """
    from ..palette import histogram_distance

    return 1 - histogram_distance(p, q)


def donor_overlap(net, l_norm: torch.Tensor, palettes: torch.Tensor, given: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour every image with another image's palette; how much do its colours overlap that palette, and its own?

    ``net`` is a :class:`colorlab.models.PaletteNet`, ``l_norm`` its float input (N,1,H,W) of normalised
    L in [-1, 1], ``palettes`` the images' true palettes, float (N,313) (rows sum to 1), on any device.
    Image i is coloured with ``given`` (default: its donor's palette, ``palettes.roll(1, dims=0)``,
    that of image i - 1), and the ab histogram of the output (:func:`colorlab.palette.ab_histogram`) is
    compared by :func:`histogram_overlap` with the donor's palette and with the image's own. Returns two
    float64 CPU tensors (N,) in [0, 1]: (overlap with the donor's palette, overlap with its own).
    """
    from ..color import denormalize_ab
    from ..palette import ab_histogram

    donors = palettes.roll(1, dims=0)
    given = donors if given is None else given
    device = l_norm.device
    with torch.no_grad():
        ab = denormalize_ab(net(l_norm, palette=given.to(device=device, dtype=torch.float32)).float())
    painted = ab_histogram(ab).cpu().double()
    return (histogram_overlap(painted, donors.cpu().double()), histogram_overlap(painted, palettes.cpu().double()))


def _donor_variants(net, l_norm, palettes):
    """Results of the mistakes a student makes, each with the hint that explains it."""
    from ..color import denormalize_ab
    from ..palette import ab_histogram

    def own_estimate():
        with torch.no_grad():
            return ab_histogram(denormalize_ab(net(l_norm).float())).cpu().double()

    def normalised_ab():  # the network's output ab / 110 taken for Lab units: nearly every pixel in the gray bin
        with torch.no_grad():
            return ab_histogram(net(l_norm, palette=palettes.roll(1, dims=0).to(l_norm.device)).float()).cpu().double()

    donors = palettes.roll(1, dims=0).cpu().double()
    own = palettes.cpu().double()
    yield (lambda: donor_overlap(net, l_norm, palettes, given=palettes.roll(-1, dims=0)),
           "the donor of image i is image i - 1: palettes.roll(1, dims=0), not roll(-1)")
    yield (lambda: donor_overlap(net, l_norm, palettes, given=palettes),
           "that is each image coloured with its OWN palette; give it the donor's, palettes.roll(1, dims=0)")
    yield (lambda: (histogram_overlap(h := own_estimate(), donors), histogram_overlap(h, own)),
           "the network used its own estimated palette; pass the donor's as net(l_norm, palette=donors)")
    yield (lambda: (histogram_overlap(h := normalised_ab(), donors), histogram_overlap(h, own)),
           "the network returns ab / 110; turn it into Lab units with colorlab.color.denormalize_ab first")


def _as_pair(out, name: str, n: int):
    """The student's (to_donor, to_own) as two float64 (N,) tensors, or a CheckFailed saying why not."""
    __tracebackhide__ = True
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"{name} returned a {type(out).__name__}; it should return two tensors of shape ({n},), "
                          f"(overlap with the donor's palette, overlap with the image's own).") from None
    pair = tuple(as_result(v, name, "the held-out images", f"a tensor of shape ({n},)") for v in out)
    for what, value in zip(("overlap with the donor's palette", "overlap with its own palette"), pair):
        if value.shape != (n,):
            raise CheckFailed(f"{name} returned {tuple(value.shape)} for the {what}; it should return one value "
                              f"per image, shape ({n},) (sum over the bins, not over the images).") from None
    return pair


def palette_use_sentence(swapped: tuple, kept: tuple, pull: tuple, lead: tuple) -> str:
    """The one-sentence answer: does the palette network follow a palette it is given, from the measured numbers.

    ``swapped``: mean overlaps (with the donor's palette, with the image's own) when each image is
    coloured with its donor's palette; ``kept``: the same with its own true palette; ``pull``:
    (difference, lo, hi) of the overlap with the donor's palette, donor's palette given minus own
    given; ``lead``: (difference, lo, hi) of donor overlap minus own overlap with the donor's palette
    given. Each (lo, hi) a 95 % paired interval over the images.
    """
    _, pull_lo, pull_hi = pull
    _, lead_lo, lead_hi = lead
    moves = ("moves its colours towards the donor's palette" if pull_lo > 0 else
             "moves its colours AWAY from the donor's palette" if pull_hi < 0 else
             "does not measurably move its colours towards the donor's palette")
    nearer = ("nearer the donor's palette than its own truth's" if lead_lo > 0 else
              "still nearer its own truth's palette than the donor's" if lead_hi < 0 else
              "as near the donor's palette as its own truth's (within noise)")
    uses = "so the network uses the palette it is given" if pull_lo > 0 else \
        "so on this run the network does not follow the palette it is given"
    return (f"Given another image's palette, the network {moves}: its output overlaps the donor's palette by "
            f"{swapped[0]:.0%} against {kept[0]:.0%} when it gets the image's own (difference {pull[0]:+.0%}, 95 % "
            f"interval [{pull_lo:+.0%}, {pull_hi:+.0%}]), and ends {nearer} ({swapped[0]:.0%} against "
            f"{swapped[1]:.0%}, interval of the difference [{lead_lo:+.0%}, {lead_hi:+.0%}]; given its own palette "
            f"it overlaps its own truth's by {kept[1]:.0%}), {uses}.")


def check_donor_overlap(fn, net, l_norm: torch.Tensor, palettes: torch.Tensor) -> None:
    """Check notebook 06's ablation: colour each image with another's palette and measure whose colours it paints.

    ``fn(net, l_norm, palettes) -> (to_donor, to_own)`` is the student's :func:`donor_overlap`: image i
    coloured by ``net`` (a PaletteNet) from ``l_norm`` (float (N,1,H,W), normalised L) with the true
    palette of image i - 1 (``palettes.roll(1, dims=0)``, ``palettes`` float (N,313)); the histogram
    intersection of the output's ab histogram with that donor palette and with the image's own, two
    float tensors (N,) in [0, 1]; values must agree to 1e-6. The checker recomputes both, and the
    same with each image's own palette given, and answers in one sentence whether the network moves
    its colours towards the palette it is given (paired bootstrap intervals over the images).
    """
    __tracebackhide__ = True
    require_callable(fn, "check_donor_overlap", "donor_overlap")
    name = name_of(fn, "donor_overlap")
    n = len(palettes)
    label = f"the {n} held-out images"
    each = Case(label, (net, l_norm, palettes), {}, tuple(l_norm.shape))
    got = _as_pair(call(fn, each, name, first=True), name, n)
    want = donor_overlap(net, l_norm, palettes)
    atol = 1e-6
    for g, w, what in zip(got, want, ("overlap with the donor's palette", "overlap with its own palette")):
        if g.shape == w.shape and bool(((g - w).abs() <= atol).all()):
            continue
        for variant, hint in _donor_variants(net, l_norm, palettes):
            candidate = variant()
            if all(c.shape == v.shape and bool(((c - v).abs() <= atol).all()) for c, v in zip(candidate, got)):
                raise CheckFailed(f"{name}'s {what} differs from colorlab.checks.palette.donor_overlap's — hint: "
                                  f"{hint}.") from None
        check_values(g, w, each, f"{name}'s {what}", Reference(donor_overlap, "colorlab.checks.palette.donor_overlap",
                                                              atol), Explanation(element=lambda i, s: f"image {i[0]}"))
    worst = max(float((g - w).abs().max()) for g, w in zip(got, want))
    success(name, "colorlab.checks.palette.donor_overlap", label, worst)
    kept = donor_overlap(net, l_norm, palettes, given=palettes)
    print(palette_use_sentence(swapped=tuple(float(v.mean()) for v in want), kept=tuple(float(v.mean()) for v in kept),
                               pull=paired_difference(want[0], kept[0]), lead=paired_difference(want[0], want[1])))
