"""The one results table: per-image scores, bootstrap intervals, and the verdicts on the papers' orderings."""

from __future__ import annotations

import math

import pytest
import torch

from colorlab.metrics import auc, colorfulness, uv_loss
from colorlab.results import AGREES, DIFFERS, WITHIN_NOISE, Claim, ResultsTable, image_scores


def _bernoulli(p: float, n: int, seed: int) -> torch.Tensor:
    return (torch.rand(n, generator=torch.Generator().manual_seed(seed)) < p).double()


def test_the_interval_of_an_accuracy_matches_the_normal_approximation():
    # 2000 images right with probability 0.7: the 95 % interval is about +-1.96 sqrt(p(1-p)/n) = +-0.020
    table = ResultsTable(seed=1).add("judge", {"semantic": _bernoulli(0.7, 2000, 0)})
    mean = table.mean("judge", "semantic")
    lo, hi = table.interval("judge", "semantic")
    half = 1.96 * math.sqrt(mean * (1 - mean) / 2000)
    assert lo < mean < hi
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.15)


def test_the_interval_narrows_as_the_held_out_set_grows():
    widths = []
    for n in (100, 400, 1600):
        table = ResultsTable().add("m", {"semantic": _bernoulli(0.5, n, n)})
        lo, hi = table.interval("m", "semantic")
        widths.append(hi - lo)
    # the width falls as 1 / sqrt(n): a quarter as many images, twice as wide
    assert widths[0] / widths[1] == pytest.approx(2, rel=0.25)
    assert widths[1] / widths[2] == pytest.approx(2, rel=0.25)


def test_paired_differences_tell_apart_what_the_separate_intervals_cannot():
    # Two methods on the same 200 images: the images differ a lot, the methods by a small constant.
    spread = torch.rand(200, generator=torch.Generator().manual_seed(0)).double() * 0.01
    table = ResultsTable()
    table.add("a", {"uv_loss": spread}).add("b", {"uv_loss": spread + 0.0002})
    a_lo, a_hi = table.interval("a", "uv_loss")
    b_lo, b_hi = table.interval("b", "uv_loss")
    assert b_lo < a_hi  # the separate intervals overlap ...
    assert table.verdict(Claim("x", "a", "lower", "b", "uv_loss")) == AGREES  # ... the paired one does not
    assert table.verdict(Claim("x", "b", "lower", "a", "uv_loss")) == DIFFERS
    d, lo, hi = table.difference("a", "b", "uv_loss")
    assert d == pytest.approx(-0.0002) and lo == pytest.approx(-0.0002) and hi == pytest.approx(-0.0002)


def test_a_difference_smaller_than_the_noise_is_within_noise():
    noise = torch.Generator().manual_seed(3)
    base = torch.rand(300, generator=noise).double()
    table = ResultsTable()
    table.add("a", {"semantic": (base < 0.6).double()})
    table.add("b", {"semantic": (torch.rand(300, generator=noise).double() < 0.6).double()})
    claim = Claim("x", "a", "higher", "b", "semantic")
    assert table.verdict(claim) == WITHIN_NOISE
    checked = table.check([claim])
    assert checked == [(claim, WITHIN_NOISE)]


def test_the_same_seed_gives_the_same_intervals():
    values = {"auc": torch.rand(50, generator=torch.Generator().manual_seed(0))}
    first = ResultsTable(seed=4).add("m", values).interval("m", "auc")
    assert ResultsTable(seed=4).add("m", values).interval("m", "auc") == first
    assert ResultsTable(seed=5).add("m", values).interval("m", "auc") != first


def test_scores_added_batch_by_batch_equal_scores_added_at_once():
    values = torch.rand(40, generator=torch.Generator().manual_seed(0)).double()
    whole = ResultsTable().add("m", {"auc": values})
    parts = ResultsTable()
    for start in range(0, 40, 16):
        parts.add("m", {"auc": values[start:start + 16]})
    assert parts.n == 40
    assert parts.mean("m", "auc") == whole.mean("m", "auc")
    assert parts.interval("m", "auc") == whole.interval("m", "auc")


def test_methods_scored_on_different_images_are_refused():
    table = ResultsTable().add("a", {"auc": torch.rand(10)}).add("b", {"auc": torch.rand(12)})
    with pytest.raises(ValueError, match="different numbers of images"):
        table.mean("a", "auc")


def test_unknown_names_are_clear_errors():
    table = ResultsTable().add("a", {"auc": torch.rand(10)})
    with pytest.raises(ValueError, match="unknown measures"):
        table.add("a", {"psnr": torch.rand(10)})
    with pytest.raises(KeyError, match="no method 'b'"):
        table.mean("b", "auc")
    with pytest.raises(KeyError, match="no 'semantic' score"):
        table.mean("a", "semantic")


def test_the_printed_table_shows_every_interval_and_each_footnote():
    table = ResultsTable()
    table.add("gray", {"uv_loss": torch.rand(30).double(), "auc": torch.rand(30).double()})
    table.add("cut run", {"uv_loss": torch.rand(30).double(), "auc": torch.rand(30).double()})
    table.note("cut run", "trained 382 of 600 steps")
    text = table.format()
    lines = text.splitlines()
    assert lines[0].split() == ["method", "UV", "loss", "AuC"]
    assert lines[2].startswith("cut run (1)") and lines[2].count("[") == 2
    assert "30 held-out images" in text and "(1) cut run: trained 382 of 600 steps" in text
    markdown = table.format(markdown=True)
    assert markdown.splitlines()[0] == "| method | UV loss | AuC |"
    record = table.to_dict()
    assert record["images"] == 30 and record["rows"][1]["notes"] == ["trained 382 of 600 steps"]
    assert record["rows"][0]["auc"]["lo"] <= record["rows"][0]["auc"]["mean"] <= record["rows"][0]["auc"]["hi"]


def test_image_scores_are_the_metrics_per_image():
    g = torch.Generator().manual_seed(0)
    truth = torch.rand(6, 3, 8, 8, generator=g)
    rgb = (truth + 0.1 * torch.randn(6, 3, 8, 8, generator=g)).clamp(0, 1)
    scores = image_scores(rgb, truth)
    assert set(scores) == {"uv_loss", "auc", "colorfulness"}
    assert all(v.shape == (6,) and v.dtype == torch.float64 for v in scores.values())
    assert float(scores["uv_loss"].mean()) == pytest.approx(float(uv_loss(rgb, truth)), rel=1e-5)
    from colorlab.color import rgb_to_l_ab

    assert float(scores["auc"].mean()) == pytest.approx(float(auc(rgb_to_l_ab(rgb)[1], rgb_to_l_ab(truth)[1])),
                                                        rel=1e-5)
    assert float(scores["colorfulness"].mean()) == pytest.approx(float(colorfulness(rgb)), rel=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        image_scores(rgb[:3], truth)


def test_a_claim_reads_as_the_paper_says_it():
    assert Claim("Zhu et al. (000)", "HOG + SVR", "lower", "gray", "uv_loss").text() == \
        "Zhu et al. (000): HOG + SVR beats gray in UV loss"
    assert Claim("Zhang et al.", "annealed", "higher", "regression", "colorfulness").text() == \
        "Zhang et al.: annealed is more colourful than regression in colorfulness"
    assert Claim("Li and Wang (003)", "regression", "higher", "gray", "semantic").text() == \
        "Li and Wang (003): regression beats gray in semantic"


def test_score_outputs_is_image_scores_row_by_row_with_its_notes():
    from colorlab.results import ResultsTable, image_scores, score_outputs

    g = torch.Generator().manual_seed(3)
    truth = torch.rand(6, 3, 8, 8, generator=g)
    outputs = {"noisy": (truth + 0.1 * torch.rand(6, 3, 8, 8, generator=g)).clamp(0, 1), "truth": truth}
    table = score_outputs(outputs, truth, notes={"noisy": "cut short", "truth": None})
    by_hand = ResultsTable()
    for name, rgb in outputs.items():
        by_hand.add(name, image_scores(rgb, truth))
    assert table.methods == ["noisy", "truth"]
    assert table.notes == {"noisy": ["cut short"]}
    for name in outputs:
        for key in by_hand.measures():
            assert torch.equal(table.scores[name][key], by_hand.scores[name][key])
    with pytest.raises(ValueError, match="not one of the outputs"):
        score_outputs(outputs, truth, notes={"elsewhere": "x"})


def test_the_markdown_table_takes_chosen_measures_and_text_columns():
    values = torch.rand(20, generator=torch.Generator().manual_seed(1)).double()
    table = ResultsTable().add("a|b", {"auc": values}).add("c", {"auc": values, "semantic": values})
    table.note("c", "cut short")
    lines = table.format(markdown=True, measures=["auc", "semantic"],
                         columns={"checkpoint": {"c": "runs/c.pt"}}).splitlines()
    assert lines[:2] == ["| method | checkpoint | AuC | semantic |", "| --- | --- | ---: | ---: |"]
    assert lines[2].startswith("| a\\|b |  | ") and lines[2].endswith(" | - |")  # no semantic score: "-"
    assert lines[3].startswith("| c | runs/c.pt | ") and lines[3].count("[") == 2
    # a blank line ends the Markdown table; the notes and what [lo, hi] is follow it
    assert lines[4:] == ["", "c: cut short", "[lo, hi]: the 95 % bootstrap interval over the 20 held-out images."]
    with pytest.raises(ValueError, match="unknown measures"):
        table.format(measures=["psnr"])


def test_score_outputs_adds_batch_after_batch_to_one_table():
    from colorlab.results import score_outputs

    g = torch.Generator().manual_seed(4)
    truth = torch.rand(10, 3, 8, 8, generator=g)
    noisy = (truth + 0.1 * torch.rand(10, 3, 8, 8, generator=g)).clamp(0, 1)
    whole = score_outputs({"noisy": noisy, "truth": truth}, truth)
    table = ResultsTable()
    for first in (0, 4, 8):
        part = slice(first, first + 4)
        assert score_outputs({"noisy": noisy[part], "truth": truth[part]}, truth[part], table=table) is table
    assert table.n == 10 and table.format() == whole.format()


def test_paired_difference_is_the_tables_paired_interval_for_any_per_image_value():
    from colorlab.results import bootstrap_counts, paired_difference

    first, second = torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0.0, 1.0, 2.0, 3.5])
    d, lo, hi = paired_difference(first, second)
    assert d == pytest.approx(0.875) and lo <= d <= hi
    assert paired_difference(first, second) == (d, lo, hi)  # a fixed seed
    # the same resampling as the results table's: a value outside MEASURES gets the interval a row would
    table = ResultsTable().add("a", {"uv_loss": first}).add("b", {"uv_loss": second})
    assert table.difference("a", "b", "uv_loss") == pytest.approx((d, lo, hi))
    counts = bootstrap_counts(4, resamples=50, seed=3)
    assert counts.shape == (50, 4) and bool((counts.sum(1) == 4).all())
    with pytest.raises(ValueError, match="at least 2 images"):
        paired_difference(first[:1], second[:1])
