"""Notebook 07's checkers (colorlab.checks.measures): Zhang's AuC, and the AuC by the true colour's chroma."""

import math

import pytest
import torch

from colorlab import metrics
from colorlab.checks import CheckFailed, ExerciseNotDone, check_auc, check_chroma_band_auc
from colorlab.checks.measures import CHROMA_EDGES, band_verdicts, chroma_band_auc, where_it_loses
from colorlab.metrics import pixel_auc


def auc(pred_ab, true_ab, max_threshold=150):
    """The notebook's solution of exercise 1."""
    error = (pred_ab - true_ab).square().sum(dim=1).sqrt().flatten(1)
    thresholds = torch.arange(max_threshold + 1, dtype=error.dtype)
    within = (error[:, :, None] <= thresholds).to(error.dtype).mean(dim=1)
    return torch.trapezoid(within, thresholds, dim=1) / max_threshold


def _grouped_by(grouping_ab, pred_ab, true_ab, edges):
    """The AuC of the pixels in each chroma band of ``grouping_ab``, pooled; the notebook's solution of exercise 2
    groups by ``true_ab``."""
    chroma = grouping_ab.square().sum(dim=1).sqrt()
    values = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        band = (chroma >= lo) & (chroma < hi)
        pred, true = (ab.permute(1, 0, 2, 3)[:, band].reshape(1, 2, 1, -1) for ab in (pred_ab, true_ab))
        values.append(metrics.auc(pred, true))
    return torch.stack(values)


def auc_by_chroma(pred_ab, true_ab, edges):
    """The notebook's solution of exercise 2."""
    return _grouped_by(true_ab, pred_ab, true_ab, edges)


def stub(*args, **kwargs):
    raise NotImplementedError


def _held_out(n=16, side=8, seed=0):
    """Made-up held-out ab: chroma from gray to strong; a cautious colorizer and one off by the same amount everywhere."""
    g = torch.Generator().manual_seed(seed)
    chroma = torch.rand(n, side, side, generator=g) ** 2 * 80  # most pixels nearly gray, as in photos
    hue = torch.rand(n, side, side, generator=g) * 2 * math.pi
    true = torch.stack([chroma * torch.cos(hue), chroma * torch.sin(hue)], 1)
    cautious = true * 0.2  # little colour: right on gray pixels, far off on strong ones
    noisy = true + torch.randn(n, 2, side, side, generator=g) * 12  # the same error at every chroma
    return cautious, noisy, true


# ------------------------------------------------------------------ the reference measures


def test_pixel_auc_averages_to_colorlab_metrics_auc():
    cautious, noisy, true = _held_out()
    for pred in (cautious, noisy, true):
        distance = (pred - true).square().sum(1).sqrt()
        assert torch.allclose(pixel_auc(distance).mean((1, 2)), metrics.auc(pred, true, reduction="none"), atol=1e-6)
    assert pixel_auc(torch.tensor([0.0, 0.5, 1.0, 150.0, 150.5])).tolist() == pytest.approx(
        [1.0, 149.5 / 150, 149.5 / 150, 0.5 / 150, 0.0])


def test_the_plain_auc_is_the_bands_weighted_by_their_share_of_the_pixels():
    cautious, _, true = _held_out()
    by_band = chroma_band_auc(cautious.double(), true.double(), CHROMA_EDGES)
    chroma = true.double().norm(dim=1)
    share = torch.stack([((chroma >= lo) & (chroma < hi)).double().mean()
                         for lo, hi in zip(CHROMA_EDGES, CHROMA_EDGES[1:])])
    assert float((share * by_band).sum()) == pytest.approx(float(metrics.auc(cautious.double(), true.double())))
    assert torch.isnan(chroma_band_auc(cautious, true, (0.0, 80.0, 500.0, 600.0)))[2]  # an empty band is NaN


# ------------------------------------------------------------------ check_auc


def test_check_auc_passes_the_solution(capsys):
    assert check_auc(auc) is None
    assert capsys.readouterr().out.startswith("✓ auc matches colorlab.metrics.auc on 5 inputs")


def test_check_auc_on_the_stub():
    with pytest.raises(ExerciseNotDone, match="not written yet"):
        check_auc(stub)


@pytest.mark.parametrize("wrong, message", [
    (lambda p, t, max_threshold=150: (((p - t).square().sum(1).sqrt().flatten(1)[:, :, None]
                                      <= torch.arange(max_threshold + 1.0)).float().mean(1)).mean(1),
     "trapezoid"),
    (lambda p, t, max_threshold=150: torch.trapezoid(((p - t).square().sum(1).sqrt().flatten(1)[:, :, None]
                                                      < torch.arange(max_threshold + 1.0)).float().mean(1),
                                                     dim=1) / max_threshold,
     "use <=, not <"),
    (lambda p, t, max_threshold=150: torch.trapezoid(((p - t).abs().sum(1).flatten(1)[:, :, None]
                                                      <= torch.arange(max_threshold + 1.0)).float().mean(1),
                                                     dim=1) / max_threshold,
     "Euclidean"),
    (lambda p, t, max_threshold=150: auc(p, t, max_threshold).mean(), "one AuC per image"),
    (lambda p, t, max_threshold=150: auc(p, t), "max_threshold=20"),  # ignores max_threshold
])
def test_check_auc_says_what_is_wrong(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_auc(wrong)


# ------------------------------------------------------------------ check_chroma_band_auc


def test_check_chroma_band_auc_passes_the_solution_and_answers(capsys):
    cautious, noisy, true = _held_out()
    assert check_chroma_band_auc(auc_by_chroma, cautious, noisy, true, first="the cautious one",
                                 second="the noisy one") is None
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ auc_by_chroma matches colorlab.checks.measures.chroma_band_auc")
    assert len(out) == 2 and out[1].startswith("Against the noisy one, the cautious one is ahead on chroma below")
    assert "it loses AuC where the colour is strong" in out[1] and "nearly gray pixels (chroma below 10" in out[1]


def test_the_answer_follows_the_numbers(capsys):
    cautious, noisy, true = _held_out()
    check_chroma_band_auc(auc_by_chroma, noisy, cautious, true, first="the noisy one", second="the cautious one")
    answer = capsys.readouterr().out.splitlines()[-1]
    assert answer.startswith("Against the cautious one, the noisy one is behind on chroma below")
    assert "it loses AuC where the colour is weak" in answer
    check_chroma_band_auc(auc_by_chroma, noisy, noisy + 0.01, true, first="A", second="B")
    assert "it loses AuC nowhere this run can tell" in capsys.readouterr().out


def test_check_chroma_band_auc_on_the_stub():
    cautious, noisy, true = _held_out()
    with pytest.raises(ExerciseNotDone):
        check_chroma_band_auc(stub, cautious, noisy, true)


def test_check_chroma_band_auc_says_what_is_wrong():
    cautious, noisy, true = _held_out()

    def by_predicted_chroma(pred_ab, true_ab, edges):
        return _grouped_by(pred_ab, pred_ab, true_ab, edges)

    def all_pixels(pred_ab, true_ab, edges):
        return metrics.auc(pred_ab, true_ab).repeat(len(edges) - 1)

    def per_image_mean(pred_ab, true_ab, edges):  # the mean of the images' band AuCs, not the pooled pixels
        return torch.stack([auc_by_chroma(p[None], t[None], edges) for p, t in zip(pred_ab, true_ab)]).mean(0)

    with pytest.raises(CheckFailed, match="PREDICTED colour"):
        check_chroma_band_auc(by_predicted_chroma, cautious, noisy, true)
    with pytest.raises(CheckFailed, match="TRUE chroma"):
        check_chroma_band_auc(all_pixels, cautious, noisy, true)
    with pytest.raises(CheckFailed, match="is off on"):
        check_chroma_band_auc(per_image_mean, cautious, noisy, true)
    with pytest.raises(TypeError, match="wants your function itself"):
        check_chroma_band_auc(auc_by_chroma(cautious, true, CHROMA_EDGES), cautious, noisy, true)



def test_band_verdicts_intervals_hold_the_difference_and_the_sentence_reads_them():
    cautious, noisy, true = _held_out()
    bands = band_verdicts(cautious, noisy, true, CHROMA_EDGES, resamples=200)
    assert sum(b["share"] for b in bands) == pytest.approx(1.0)
    for b in bands:
        assert b["low"] <= b["difference"] <= b["high"]
    made_up = [dict(lo=0.0, hi=10.0, share=0.7, difference=0.0, low=-0.01, high=0.01),
               dict(lo=10.0, hi=math.inf, share=0.3, difference=-0.1, low=-0.12, high=-0.08)]
    sentence = where_it_loses(made_up, "A", "B")
    assert sentence.startswith("Against B, A is within noise on chroma below 10 and behind on chroma above 10 (by 0.100)")
    assert "where the colour is strong" in sentence and "-0.030 in plain AuC" in sentence
    assert "70% of them" in sentence
    ahead = [dict(b, difference=d, low=d - 0.01, high=d + 0.01) for b, d in zip(made_up, (0.07, 0.02))]
    sentence = where_it_loses(ahead, "A", "B")
    assert sentence.startswith("Against B, A is ahead on every chroma (by 0.070 on chroma below 10, 0.020 on chroma "
                               "above 10): it loses AuC nowhere this run can tell, and its lead is smallest on chroma "
                               "above 10;"), sentence
