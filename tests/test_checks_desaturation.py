"""The desaturation checkers of notebooks 03 and 04: the reference passes, a stub is not done, mistakes are named,
and the one-sentence answer follows the numbers."""

from __future__ import annotations

import math

import pytest
import torch

from colorlab import checks
from colorlab.checks.desaturation import (chroma_kept, chroma_kept_sentence, share_near_hue,
                                          share_near_hue_sentence)

EDGES = torch.tensor([0.0, 10.0, 30.0, float("inf")])


def _truth() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 2, 6, 6, generator=g) * 25


def _faded_strong(true_ab: torch.Tensor) -> torch.Tensor:
    """A prediction that keeps gray-ish pixels and halves the chroma of the strong ones."""
    chroma = true_ab.norm(dim=1, keepdim=True)
    return true_ab * torch.where(chroma > 30, 0.3, 0.9)


def _stub(*args, **kwargs):
    raise NotImplementedError


def test_chroma_kept_reference_values_and_empty_bins():
    true = torch.tensor([[3.0, 0.0, 40.0], [4.0, 20.0, 0.0]]).reshape(1, 2, 1, 3)
    kept = chroma_kept(true * 0.5, true, torch.tensor([0.0, 10.0, 15.0, 30.0, 100.0]))
    assert kept[0] == pytest.approx(0.5) and kept[2] == pytest.approx(0.5) and kept[3] == pytest.approx(0.5)
    assert math.isnan(float(kept[1]))


def test_check_chroma_kept_passes_the_reference_and_answers(capsys):
    true = _truth()
    checks.check_chroma_kept(chroma_kept, {"the faded net": _faded_strong(true)}, true, EDGES)
    out = capsys.readouterr().out
    assert out.startswith("✓ chroma_kept matches")
    assert "the averaging takes most from the strongest colours" in out


def test_check_chroma_kept_on_a_stub_is_not_done():
    with pytest.raises(checks.ExerciseNotDone):
        checks.check_chroma_kept(_stub, {}, _truth(), EDGES)


def _zero_for_empty(pred, true, edges):
    return torch.nan_to_num(chroma_kept(pred, true, edges), nan=0.0)


def _per_pixel_ratio(pred, true, edges):
    t, p = true.norm(dim=1).flatten(), pred.norm(dim=1).flatten()
    return torch.tensor([float((p[(t >= lo) & (t < hi)] / t[(t >= lo) & (t < hi)]).mean())
                         if ((t >= lo) & (t < hi)).any() else math.nan for lo, hi in zip(edges[:-1], edges[1:])],
                        dtype=torch.float64)


@pytest.mark.parametrize("wrong, words", [
    (_zero_for_empty, "NaN"),
    (_per_pixel_ratio, "mean of each pixel's own ratio"),
    (lambda p, t, e: chroma_kept(p, t, e)[:-1], "returned shape"),
])
def test_check_chroma_kept_names_the_mistake(wrong, words):
    true = _truth()
    with pytest.raises(checks.CheckFailed, match=words):
        checks.check_chroma_kept(wrong, {"net": _faded_strong(true)}, true, EDGES)


def test_chroma_kept_sentence_follows_the_numbers():
    falls = chroma_kept_sentence({"A": torch.tensor([0.9, 0.5, 0.2], dtype=torch.float64)}, EDGES)
    flat = chroma_kept_sentence({"A": torch.tensor([0.4, 0.45, 0.5], dtype=torch.float64)}, EDGES)
    tinted = chroma_kept_sentence({"A": torch.tensor([2.5, 1.0, 0.4], dtype=torch.float64)}, EDGES)
    assert "250 %" in tinted and "get a tint they do not have" in tinted
    assert "90 %" in falls and "20 %" in falls and "takes most from the strongest colours" in falls
    assert "tint" not in falls
    assert "does not fall with the colour's strength" in flat and "30+" in flat


# ------------------------------------------------------------------ share_near_hue


def _pixels(*degrees, chroma=20.0) -> torch.Tensor:
    rad = torch.deg2rad(torch.tensor(degrees, dtype=torch.float64))
    return torch.stack([chroma * torch.cos(rad), chroma * torch.sin(rad)]).reshape(1, 2, 1, len(degrees))


def test_share_near_hue_goes_the_short_way_round_and_ignores_gray():
    centre = torch.tensor([-10.0, 0.0])  # hue 180
    assert float(share_near_hue(_pixels(-170, 170, 90), centre, within=45.0)) == pytest.approx(2 / 3)
    assert math.isnan(float(share_near_hue(_pixels(0, chroma=1.0), centre)))


def _huddled(true: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """Every coloured pixel turned to the centre's hue at a tenth of its chroma plus a little."""
    hue = torch.atan2(centre[1], centre[0])
    chroma = true.norm(dim=1, keepdim=True) * 0.3
    return torch.cat([chroma * torch.cos(hue), chroma * torch.sin(hue)], dim=1)


def test_check_share_near_hue_passes_the_reference_and_answers(capsys):
    true, centre = _truth(), torch.tensor([3.0, 10.0])
    checks.check_share_near_hue(share_near_hue, {"the L2 net": _huddled(true, centre)}, true, centre)
    out = capsys.readouterr().out
    assert out.startswith("✓ share_near_hue matches")
    assert "falls back on the average colour" in out


def test_check_share_near_hue_on_a_stub_is_not_done():
    with pytest.raises(checks.ExerciseNotDone):
        checks.check_share_near_hue(_stub, {}, _truth(), torch.tensor([3.0, 10.0]))


def _no_wrap(ab, centre, within=45.0, min_chroma=5.0):
    hue = torch.rad2deg(torch.atan2(ab[:, 1], ab[:, 0]))
    d = (hue - torch.rad2deg(torch.atan2(centre[1], centre[0]))).abs()
    coloured = ab.norm(dim=1) >= min_chroma
    return (d[coloured] <= within).double().mean()


def _all_pixels(ab, centre, within=45.0, min_chroma=5.0):
    return share_near_hue(ab, centre, within, min_chroma=0.0)


def _zero_when_gray(ab, centre, within=45.0, min_chroma=5.0):
    return torch.nan_to_num(share_near_hue(ab, centre, within, min_chroma), nan=0.0)


@pytest.mark.parametrize("wrong, words", [
    (_no_wrap, "short way round"),
    (_all_pixels, "count only the coloured pixels"),
    (_zero_when_gray, "NaN"),
])
def test_check_share_near_hue_names_the_mistake(wrong, words):
    true, centre = _truth(), torch.tensor([3.0, 10.0])
    with pytest.raises(checks.CheckFailed, match=words):
        checks.check_share_near_hue(wrong, {"net": _huddled(true, centre)}, true, centre)


def test_share_near_hue_sentence_follows_the_numbers():
    huddled = share_near_hue_sentence({"truth": 0.3, "net": 0.8}, {"truth": 0.9, "net": 0.8})
    spread = share_near_hue_sentence({"truth": 0.3, "net": 0.32}, {"truth": 0.9, "net": 0.85})
    gray = share_near_hue_sentence({"truth": 0.3, "net": 0.3}, {"truth": 0.9, "net": 0.2})
    assert "80 %" in huddled and "falls back on the average colour" in huddled
    assert "no fall-back on the average colour" in spread
    assert "falls back on gray" in gray
