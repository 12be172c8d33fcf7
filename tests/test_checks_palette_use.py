"""Tests of colorlab.checks.palette's ablation: does the palette network use the palette it is given?"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from colorlab.checks import CheckFailed, ExerciseNotDone, check_donor_overlap
from colorlab.checks.palette import donor_overlap, histogram_overlap, palette_use_sentence
from colorlab.color import denormalize_ab, normalize_ab
from colorlab.palette import ab_histogram, histogram_distance
from colorlab.quantize import NUM_BINS, bin_centers, encode_hard

pytestmark = pytest.mark.usefixtures("one_thread")

CENTERS = bin_centers()
DOMINANT = [20, 80, 140, 200, 260, 300]  # each image's main colour: a bin far from the others'


class StandInPaletteNet(nn.Module):
    """Paints every pixel in the centre of the palette's largest bin; ``obeys=False`` ignores the palette given."""

    def __init__(self, own: torch.Tensor, obeys: bool = True):
        super().__init__()
        self.own, self.obeys = own, obeys
        self.estimate = own[:1].expand_as(own)  # its own estimate: the first image's palette for every image

    def forward(self, l, palette=None):
        palette = self.estimate if palette is None else palette if self.obeys else self.own
        ab = CENTERS[palette.argmax(dim=1)]  # (N, 2)
        return normalize_ab(ab.view(-1, 2, 1, 1).expand(-1, 2, *l.shape[-2:]).clone())


def palettes() -> torch.Tensor:
    """Six palettes: 70 % of the pixels on the image's main bin, some on gray (more in each image), the rest spread."""
    n = len(DOMINANT)
    gray = int(encode_hard(torch.zeros(2, 1, 1))[0, 0])
    out = torch.full((n, NUM_BINS), 0.1 / NUM_BINS)
    out[torch.arange(n), DOMINANT] += 0.7
    out[:, gray] += 0.2 * torch.arange(1, n + 1) / n
    return out / out.sum(dim=1, keepdim=True)


L_NORM = torch.zeros(len(DOMINANT), 1, 8, 8)


def student(net, l_norm, palettes):
    """What a student writes: roll, colour, histogram, intersect."""
    donors = palettes.roll(1, dims=0)
    with torch.no_grad():
        painted = ab_histogram(denormalize_ab(net(l_norm, palette=donors)))
    return torch.minimum(painted, donors).sum(1), torch.minimum(painted, palettes).sum(1)


def check(capsys, fn=student, obeys=True):
    p = palettes()
    check_donor_overlap(fn, StandInPaletteNet(p, obeys), L_NORM, p)
    return capsys.readouterr().out.strip().split("\n")


def test_histogram_overlap_is_one_minus_the_total_variation_distance():
    p = palettes()
    assert torch.allclose(histogram_overlap(p, p), torch.ones(len(p)))
    assert torch.allclose(histogram_overlap(p, p.roll(1, dims=0)), 1 - histogram_distance(p, p.roll(1, dims=0)))


def test_donor_overlap_of_a_network_that_obeys():
    p = palettes().double()
    to_donor, to_own = donor_overlap(StandInPaletteNet(palettes()), L_NORM, palettes())
    assert to_donor.dtype == torch.float64 and to_donor.shape == (len(DOMINANT),)
    # every pixel painted in the donor's main colour: the overlap is that colour's share in each palette
    donors = torch.tensor(DOMINANT).roll(1)
    assert torch.allclose(to_donor, p.roll(1, dims=0)[torch.arange(6), donors], atol=1e-6)
    assert torch.allclose(to_own, p[torch.arange(6), donors], atol=1e-6)


def test_the_reference_passes_and_says_the_network_follows_the_palette(capsys):
    tick, answer = check(capsys)
    assert tick.startswith("✓ student matches colorlab.checks.palette.donor_overlap on the 6 held-out images")
    assert answer.startswith("Given another image's palette, the network moves its colours towards the donor's")
    assert "ends nearer the donor's palette than its own truth's" in answer
    assert answer.endswith("so the network uses the palette it is given.")


def test_the_answer_follows_the_numbers(capsys):
    _, answer = check(capsys, obeys=False)
    assert "does not measurably move its colours towards the donor's palette" in answer
    assert "still nearer its own truth's palette than the donor's" in answer
    assert "does not follow the palette it is given" in answer


def test_the_sentence_words_come_from_the_intervals():
    away = palette_use_sentence((0.1, 0.5), (0.2, 0.6), (-0.1, -0.15, -0.05), (-0.4, -0.5, -0.3))
    assert "AWAY from the donor's palette" in away and "does not follow" in away
    level = palette_use_sentence((0.4, 0.4), (0.2, 0.6), (0.2, 0.1, 0.3), (0.0, -0.05, 0.05))
    assert "moves its colours towards" in level and "within noise" in level


def test_the_stub_is_not_done(capsys):
    def donor_overlap(net, l_norm, palettes):
        raise NotImplementedError

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check(capsys, fn=donor_overlap)


def test_rolling_the_other_way_gets_a_hint(capsys):
    with pytest.raises(CheckFailed, match=r"roll\(1, dims=0\), not roll\(-1\)"):
        check(capsys, fn=lambda net, l_norm, p: _overlaps(net, l_norm, p, p.roll(-1, dims=0)))


def _overlaps(net, l_norm, palettes, given):
    donors = palettes.roll(1, dims=0)
    painted = ab_histogram(denormalize_ab(net(l_norm, palette=given)))
    return torch.minimum(painted, donors).sum(1), torch.minimum(painted, palettes).sum(1)


def test_the_networks_own_estimate_gets_a_hint(capsys):
    with pytest.raises(CheckFailed, match="its own estimated palette"):
        check(capsys, fn=lambda net, l_norm, p: _overlaps(net, l_norm, p, None))


def test_forgetting_denormalize_ab_gets_a_hint(capsys):
    def normalised(net, l_norm, palettes):
        donors = palettes.roll(1, dims=0)
        painted = ab_histogram(net(l_norm, palette=donors))
        return torch.minimum(painted, donors).sum(1), torch.minimum(painted, palettes).sum(1)

    with pytest.raises(CheckFailed, match="denormalize_ab"):
        check(capsys, fn=normalised)


def test_one_result_instead_of_two_is_named(capsys):
    with pytest.raises(CheckFailed, match="should return two tensors of shape"):
        check(capsys, fn=lambda net, l_norm, p: student(net, l_norm, p)[0])


def test_summing_over_the_images_is_named(capsys):
    with pytest.raises(CheckFailed, match=r"one value per image, shape \(6,\)"):
        check(capsys, fn=lambda net, l_norm, p: tuple(v.sum() for v in student(net, l_norm, p)))
