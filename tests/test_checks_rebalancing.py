"""Tests of colorlab.checks.rebalancing: notebook 05's ablation, pure inverse frequency against lambda = 0.5."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from colorlab.checks import CheckFailed, ExerciseNotDone, check_inverse_frequency
from colorlab.checks.rebalancing import inverse_frequency_sentence, rare_colour_share
from colorlab.checkpoints import History
from colorlab.color import lab_to_rgb
from colorlab.quantize import NUM_BINS, bin_centers, class_prior, encode_hard
from colorlab.train import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")

CENTERS = bin_centers()


class PeakClassifier(nn.Module):
    """A stand-in classifier: every pixel's distribution peaks on one bin (at a quarter of the resolution)."""

    kind = "classification"

    def __init__(self, peak: int):
        super().__init__()
        self.peak = peak

    def forward(self, l):
        n, _, h, w = l.shape
        logits = torch.zeros(n, NUM_BINS, h // 4, w // 4)
        logits[:, self.peak] = 20.0
        return logits


def truth_and_prior():
    """Eight 8x8 held-out images of dull colours with one saturated pixel, and their class prior."""
    g = torch.Generator().manual_seed(0)
    ab = torch.randn(8, 2, 8, 8, generator=g) * 6
    ab[0, :, 0, 0] = torch.tensor([60.0, 60.0])  # one saturated pixel in all: a rare colour
    lab = torch.cat([torch.full((8, 1, 8, 8), 60.0), ab], dim=1)
    truth = lab_to_rgb(lab).clamp(0, 1)
    return truth, class_prior(ab)


def bins_of(prior):
    order = torch.argsort(prior, descending=True)
    return int(order[0]), int(encode_hard(torch.tensor([60.0, 60.0]).view(2, 1, 1))[0, 0])


def student(ab, prior, threshold=None):
    """What a student writes: the nearest bin of each pixel, its prior against 1/313."""
    limit = 1 / 313 if threshold is None else threshold
    return (prior[encode_hard(ab)] < limit).float().flatten(1).mean(1)


ZHANG_CONFIG = TrainConfig(steps=40, lr=2e-3, rebalance=0.5)
INVERSE_CONFIG = replace(ZHANG_CONFIG, rebalance=0.0)
DONE = History(step=[10, 20, 30, 40], loss=[4.0, 3.0, 2.5, 2.0])


def run(capsys, fn=student, config=INVERSE_CONFIG, history=DONE, garish=True):
    truth, prior = truth_and_prior()
    common, saturated = bins_of(prior)
    inverse = PeakClassifier(saturated if garish else common)
    zhang = PeakClassifier(common if garish else saturated)
    check_inverse_frequency(fn, inverse, config, history, zhang, ZHANG_CONFIG, truth, prior)
    return capsys.readouterr().out


def test_rare_colour_share_counts_the_pixels_below_uniform():
    prior = torch.full((NUM_BINS,), 1 / NUM_BINS, dtype=torch.float64)
    prior[0], prior[1] = 0.5 / NUM_BINS, 1.5 / NUM_BINS  # bin 0 rare, bin 1 common
    ab = torch.stack([CENTERS[0], CENTERS[1], CENTERS[0], CENTERS[1]], dim=1).view(1, 2, 2, 2)
    assert rare_colour_share(ab, prior).tolist() == [0.5]
    assert rare_colour_share(ab, prior, threshold=2 / NUM_BINS).tolist() == [1.0]


def test_the_reference_passes_and_answers(capsys):
    out = run(capsys)
    tick, answer = out.strip().split("\n")
    assert tick.startswith("✓ student matches colorlab.checks.rebalancing.rare_colour_share on 6 inputs")
    assert answer.startswith("With pure inverse frequency (lambda = 0) the classifier paints 100% of the pixels")
    assert "more than at lambda = 0.5 (0%" in answer and "more colourful than" in answer
    assert "rare colours where the truth has common ones" in answer and "lambda = 0.5" in answer


def test_the_answer_follows_the_numbers(capsys):
    answer = run(capsys, garish=False).strip().split("\n")[-1]
    assert "paints 0% of the pixels" in answer and "fewer than at lambda = 0.5 (100%" in answer
    assert "less colourful than" in answer and "did not push the network towards rare colours" in answer


def test_the_sentence_words_come_from_the_intervals():
    rare = {"inverse": 0.4, "zhang": 0.2, "truth": 0.1}
    colour = {"inverse": 30.0, "zhang": 20.0, "truth": 25.0}
    worse = inverse_frequency_sentence(rare, colour, (0.002, 0.001, 0.003), (0.2, 0.1, 0.3), (10.0, 8.0, 12.0))
    assert "further from the truth" in worse and "pays for it" in worse
    unclear = inverse_frequency_sentence(rare, colour, (0.0, -0.001, 0.001), (0.2, 0.1, 0.3), (1.0, -1.0, 3.0))
    assert "as close (within noise) to" in unclear and "as colourful (within noise) as" in unclear
    assert "cannot tell the price" in unclear
    cheaper = inverse_frequency_sentence(rare, colour, (-0.002, -0.003, -0.001), (0.2, 0.1, 0.3), (-5.0, -6.0, -4.0))
    assert "closer to the truth" in cheaper and "without a price in UV loss, the rare colours it picks being duller" \
        in cheaper and "less colourful than" in cheaper
    cut = inverse_frequency_sentence(rare, colour, (0.0, -0.001, 0.001), (0.2, 0.1, 0.3), (1.0, -1.0, 3.0), True)
    assert "cut short" in cut


def test_the_stub_is_not_done(capsys):
    def rare_colour_share(ab, prior, threshold=None):
        raise NotImplementedError

    with pytest.raises(ExerciseNotDone, match="not written yet"):
        run(capsys, fn=rare_colour_share)


def test_an_untrained_classifier_is_not_done(capsys):
    with pytest.raises(ExerciseNotDone, match="not trained yet"):
        run(capsys, history=None)


@pytest.mark.parametrize("lam, words", [(1.0, "no rebalancing at all"), (0.5, "Zhang et al.'s own"),
                                        (None, "rebalance=None")])
def test_the_wrong_lambda_is_named(capsys, lam, words):
    with pytest.raises(CheckFailed, match=words) as failure:
        run(capsys, config=replace(INVERSE_CONFIG, rebalance=lam))
    assert "rebalance=0.0" in str(failure.value)


def test_other_steps_are_not_a_fair_comparison(capsys):
    with pytest.raises(CheckFailed, match=r"steps=20 and the lambda = 0.5 one with steps=40; a fair comparison"):
        run(capsys, config=replace(INVERSE_CONFIG, steps=20))


def test_the_share_of_common_colours_gets_a_hint(capsys):
    with pytest.raises(CheckFailed, match="share of the common colours"):
        run(capsys, fn=lambda ab, prior, threshold=None: 1 - student(ab, prior, threshold))


def test_one_share_for_the_whole_batch_is_named(capsys):
    with pytest.raises(CheckFailed, match=r"one share per image"):
        run(capsys, fn=lambda ab, prior, threshold=None: student(ab, prior, threshold).mean())


def test_a_threshold_ignored_is_caught(capsys):
    with pytest.raises(CheckFailed, match="threshold=1e-2"):
        run(capsys, fn=lambda ab, prior, threshold=None: student(ab, prior))
