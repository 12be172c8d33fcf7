"""Tests of colorlab.palette (histograms, pushing and editing palettes) and of the palette network (001).

The network tests use tiny networks (width 4) on synthetic 16x16 images; the
red-or-green task is the averaging problem of notebook 01: every image has the
same lightness, half are red and half green, so no colorizer that sees only L
can tell them apart; given the true palette, the palette network can.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import colorlab.palette as palette
from colorlab.checkpoints import load_checkpoint, save_checkpoint
from colorlab.color import lab_to_rgb, normalize_ab, normalize_l
from colorlab.colorize import predict_ab
from colorlab.data import LabPairs
from colorlab.models import MODELS, PaletteNet, build_model
from colorlab.palette import (NAMED_COLOURS, ab_histogram, bin_index, coarse_groups, coarsen, edit_bins,
                              fast_histogram, histogram_distance, mean_ab, palette_strip, push_palette,
                              target_histogram, top_bins)
from colorlab.quantize import BIN_CENTERS, NUM_BINS, encode_hard
from colorlab.train import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_thread")

# Hand-computed bin indices (Zhang's order: a ascending, then b ascending within a).
# Columns a = -90 .. 10 hold 5+8+10+12+14+15+16+16+17+18+18 = 149 bins; the a = 20 column
# starts at b = -80, so (20, -30) is 149 + 5 = 154. Columns a = -90 .. -50 hold 49 bins and
# the a = -40 column starts at b = -40, so (-40, 50) is 49 + 9 = 58.
BIN_20_M30 = 154
BIN_M40_50 = 58


def two_colour_image() -> torch.Tensor:
    """(2,4,4) ab: 12 pixels near (20, -30) and a 2x2 block of 4 pixels at (-40, 50)."""
    ab = torch.empty(2, 4, 4)
    ab[0], ab[1] = 20.0, -30.0
    ab[:, 0, 0] = torch.tensor([23.0, -27.0])  # off the centre, still nearest to (20, -30)
    ab[:, 1, 3] = torch.tensor([16.0, -34.0])
    ab[0, 2:, 2:], ab[1, 2:, 2:] = -40.0, 50.0
    return ab


# ------------------------------------------------------------ histograms

def test_hand_computed_bins_are_where_the_table_says():
    assert BIN_CENTERS[BIN_20_M30] == (20.0, -30.0)
    assert BIN_CENTERS[BIN_M40_50] == (-40.0, 50.0)


def test_histogram_of_two_flat_colours_is_three_quarters_and_one_quarter():
    hist = ab_histogram(two_colour_image())
    assert hist.shape == (NUM_BINS,) and hist.dtype == torch.float32
    assert hist[BIN_20_M30].item() == 0.75
    assert hist[BIN_M40_50].item() == 0.25
    assert hist.sum().item() == 1.0
    assert int((hist > 0).sum()) == 2


def test_histogram_ignores_where_the_colours_are():
    ab = two_colour_image()
    shuffled = ab.reshape(2, -1)[:, torch.randperm(16, generator=torch.Generator().manual_seed(0))].reshape(2, 4, 4)
    assert torch.equal(ab_histogram(ab), ab_histogram(shuffled))
    assert torch.equal(ab_histogram(ab), ab_histogram(ab.flip(-1)))


def test_colours_outside_the_gamut_count_in_the_nearest_bin():
    ab = torch.tensor([100.0, 50.0]).view(2, 1, 1)  # a = 100 has bins only up to b = 0; (90, 50) is 10 away
    assert ab_histogram(ab)[BIN_CENTERS.index((90.0, 50.0))].item() == 1.0


def test_batched_histograms_and_numpy_input():
    first = two_colour_image()
    second = torch.stack([torch.full((4, 4), -40.0), torch.full((4, 4), 50.0)])
    hist = ab_histogram(torch.stack([first, second]))
    assert hist.shape == (2, NUM_BINS)
    assert torch.equal(hist[0], ab_histogram(first))
    assert hist[1, BIN_M40_50].item() == 1.0
    assert torch.allclose(hist.sum(1), torch.ones(2))
    assert torch.equal(ab_histogram(first.numpy()), ab_histogram(first))


def random_photo_ab(n: int = 4, size: int = 16, seed: int = 0) -> torch.Tensor:
    """ab of random RGB images: colours from all over the sRGB gamut, some near its edge."""
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand(n, 3, size, size, generator=g) ** 3  # many saturated, dark colours
    from colorlab.color import rgb_to_lab

    return rgb_to_lab(rgb)[:, 1:]


def test_fast_histogram_agrees_with_the_reference():
    ab = random_photo_ab()
    assert torch.equal(fast_histogram(ab), ab_histogram(ab))
    # its GPU path is quantize.nearest_bin(exact=False), tested in test_quantize.py


def test_coarse_grid_sums_the_bins_of_each_cell():
    group, centres = coarse_groups(20)
    assert group.shape == (NUM_BINS,) and centres.shape[1] == 2
    assert set(group.tolist()) == set(range(centres.shape[0]))
    # (20, -30) and (20, -40)... cells of 20 hold at most 2 x 2 bins
    assert torch.bincount(group).max().item() <= 4
    hist = ab_histogram(two_colour_image(), grid=20)
    assert hist.shape == (centres.shape[0],)
    assert hist[group[BIN_20_M30]].item() == 0.75 and hist[group[BIN_M40_50]].item() == 0.25
    assert torch.equal(coarsen(ab_histogram(two_colour_image()), 20), hist)
    g10, c10 = coarse_groups(10)
    assert torch.equal(g10, torch.arange(NUM_BINS)) and torch.equal(c10, torch.tensor(BIN_CENTERS))
    for bad in (15, 0, 5, "313", 20.0, True):
        with pytest.raises(ValueError, match="grid"):
            ab_histogram(two_colour_image(), grid=bad)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(2, 4, 4, dtype=torch.uint8), "floating-point"),
    (torch.zeros(3, 4, 4), "shape"),
    (torch.zeros(4, 4), "shape"),
    (torch.full((2, 4, 4), float("nan")), "NaN"),
])
def test_histogram_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        ab_histogram(bad)


def test_histogram_distance():
    a = ab_histogram(two_colour_image())
    b = torch.zeros(NUM_BINS)
    b[0] = 1.0
    assert histogram_distance(a, a).item() == 0.0
    assert histogram_distance(a, b).item() == pytest.approx(1.0)
    c = torch.zeros(NUM_BINS)
    c[BIN_20_M30] = 1.0
    assert histogram_distance(a, c).item() == pytest.approx(0.25)  # a quarter of the pixels must move
    assert histogram_distance(torch.stack([a, b]), c).shape == (2,)
    assert torch.allclose(palette.normalize_histogram(4 * a), a)


# ------------------------------------------------------------ display

def test_top_bins_and_strip():
    hist = ab_histogram(two_colour_image())
    entries = top_bins(hist, k=5)
    assert [e.bin for e in entries] == [BIN_20_M30, BIN_M40_50]  # zero shares left out
    assert entries[0].share == pytest.approx(0.75) and entries[0].ab == (20.0, -30.0)
    assert all(0 <= c <= 1 for e in entries for c in e.rgb)
    strip = palette_strip(hist, k=5, width=100, height=10)
    assert strip.shape == (10, 100, 3) and strip.dtype == np.uint8
    assert (strip[:, :74] == strip[0, 0]).all() and (strip[:, 76:] == strip[0, -1]).all()
    assert not (strip[0, 0] == strip[0, -1]).all()
    with pytest.raises(ValueError, match="k must"):
        top_bins(hist, k=0)


# ------------------------------------------------------------ pushing and editing

def uniform_histogram() -> torch.Tensor:
    return torch.full((NUM_BINS,), 1.0 / NUM_BINS)


def test_named_colours_look_like_their_names():
    for name, (a, b) in NAMED_COLOURS.items():
        assert math.hypot(a, b) == pytest.approx(50.0)
    rgb = {name: lab_to_rgb(torch.tensor([60.0, a, b]).view(3, 1, 1)).flatten()
           for name, (a, b) in NAMED_COLOURS.items()}
    assert rgb["red"].argmax() == 0 and rgb["green"].argmax() == 1 and rgb["blue"].argmax() == 2
    assert rgb["yellow"][2] < 0.5 * rgb["yellow"][:2].min()  # red and green, little blue
    assert rgb["cyan"][0] < 0.5 * rgb["cyan"][1:].min()  # green and blue, little red
    assert NAMED_COLOURS["red"][0] > 30 and NAMED_COLOURS["blue"][1] < -40  # red: large a; blue: negative b


def test_push_moves_mass_towards_the_target_and_keeps_a_distribution():
    hist = ab_histogram(two_colour_image())
    red = NAMED_COLOURS["red"]
    near_red = torch.tensor([math.dist(c, red) < 20 for c in BIN_CENTERS])
    before = hist[near_red].sum()
    previous_distance = math.dist(mean_ab(hist).tolist(), red)
    for strength in (0.25, 0.5, 1.0):
        pushed = push_palette(hist, "red", strength)
        assert pushed.shape == hist.shape and bool((pushed >= 0).all())
        assert pushed.sum().item() == pytest.approx(1.0, abs=1e-6)
        assert pushed[near_red].sum() > before
        before = pushed[near_red].sum()
        distance = math.dist(mean_ab(pushed).tolist(), red)
        assert distance < previous_distance  # the mean colour walks towards red
        previous_distance = distance
    assert mean_ab(push_palette(hist, "red", 0.5))[0] > mean_ab(hist)[0]  # towards red raises a
    assert mean_ab(push_palette(hist, "blue", 0.5))[1] < mean_ab(hist)[1]  # towards blue lowers b
    assert torch.equal(push_palette(hist, "red", 0.0), hist)
    assert torch.allclose(push_palette(hist, "red", 1.0), target_histogram("red"))


def test_push_accepts_names_hue_angles_and_ab_points():
    hist = uniform_histogram()
    by_name = push_palette(hist, "Blue", 0.3)
    assert torch.allclose(by_name, push_palette(hist, 285.0, 0.3), atol=1e-6)
    assert torch.allclose(by_name, push_palette(hist, NAMED_COLOURS["blue"], 0.3), atol=1e-6)
    batch = push_palette(torch.stack([hist, hist]), "blue", 0.3)
    assert batch.shape == (2, NUM_BINS) and torch.allclose(batch[1], by_name)


@pytest.mark.parametrize("towards, strength, message", [
    ("magenta-ish", 0.5, "unknown colour"), ("red", 1.5, "strength"), ("red", -0.1, "strength"),
    ((1.0, 2.0, 3.0), 0.5, "towards"), (float("nan"), 0.5, "finite"),
])
def test_push_rejects_bad_arguments(towards, strength, message):
    with pytest.raises(ValueError, match=message):
        push_palette(uniform_histogram(), towards, strength)


def test_push_rejects_bad_histograms():
    with pytest.raises(ValueError, match="shape"):
        push_palette(torch.ones(10), "red", 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        push_palette(-uniform_histogram(), "red", 0.5)
    with pytest.raises(ValueError, match="all zeros"):
        push_palette(torch.zeros(NUM_BINS), "red", 0.5)


def test_edit_bins_sets_shares_and_rescales_the_rest():
    hist = ab_histogram(two_colour_image())  # 0.75 and 0.25
    red = bin_index(40.0, 30.0)
    assert BIN_CENTERS[red] == (40.0, 30.0)
    edited = edit_bins(hist, {red: 0.2})
    assert edited[red].item() == pytest.approx(0.2)
    assert edited[BIN_20_M30].item() == pytest.approx(0.75 * 0.8)
    assert edited[BIN_M40_50].item() == pytest.approx(0.25 * 0.8)
    assert edited.sum().item() == pytest.approx(1.0)
    removed = edit_bins(hist, {BIN_M40_50: 0.0})
    assert removed[BIN_20_M30].item() == pytest.approx(1.0)
    only = edit_bins(hist, {BIN_20_M30: 0.0, BIN_M40_50: 0.0, red: 0.5})  # nothing else left: scaled to 1
    assert only[red].item() == pytest.approx(1.0)
    for bad, message in (({NUM_BINS: 0.1}, "bin indices"), ({red: 1.2}, "share"), ({1: 0.6, 2: 0.6}, "add up"),
                         ({}, "non-empty"), ({BIN_20_M30: 0.0, BIN_M40_50: 0.0}, "no mass")):
        with pytest.raises(ValueError, match=message):
            edit_bins(hist, bad)


# ------------------------------------------------------------ the palette network

RED, GREEN = (45.0, 20.0), (-45.0, 20.0)


def red_or_green_pairs(n: int = 16, size: int = 16, seed: int = 0) -> LabPairs:
    """Every image has the same kind of lightness texture; half are flat red, half flat green (same L)."""
    g = torch.Generator().manual_seed(seed)
    l = 45 + 25 * F.interpolate(torch.rand(n, 1, 4, 4, generator=g), size=(size, size), mode="bilinear",
                                align_corners=False)
    colours = torch.tensor([RED if i % 2 == 0 else GREEN for i in range(n)])
    ab = colours.view(n, 2, 1, 1).expand(n, 2, size, size).clone()
    return LabPairs(normalize_l(l), normalize_ab(ab))


@pytest.fixture(scope="module")
def trained():
    """A width-4 PaletteNet trained briefly on the red-or-green task, with its data and history."""
    data = red_or_green_pairs()
    torch.manual_seed(0)
    model = PaletteNet(width=4, palette_weight=10.0)
    history = fit(model, data, TrainConfig(steps=50, batch_size=8, lr=1e-2, log_every=10),
                                progress=False)
    return model, data, history


def test_shapes_any_size_and_kind():
    torch.manual_seed(0)
    model = PaletteNet(width=4).eval()
    l = torch.rand(2, 1, 20, 36) * 2 - 1
    with torch.no_grad():
        ab, logits = model(l, return_logits=True)
        est = model.estimate_palette(l)
        with_one = model(l, palette=ab_histogram(two_colour_image()))
    assert ab.shape == (2, 2, 20, 36) and bool((ab.abs() < 1).all())
    assert logits.shape == (2, NUM_BINS) and with_one.shape == ab.shape
    assert torch.allclose(est.sum(1), torch.ones(2)) and bool((est >= 0).all())
    # a fresh estimator starts at the uniform palette, not at sigmoid(0) = 1/2 per bin
    assert torch.sigmoid(logits).sum(1).mean().item() == pytest.approx(1.0, rel=0.5)
    assert model.kind == "palette" and MODELS["palette"] is PaletteNet
    assert predict_ab(model, l).shape == (2, 2, 20, 36)  # colorize works unchanged: ab from the estimated palette
    with pytest.raises(ValueError, match="palette must have shape"):
        model(l, palette=torch.ones(3, NUM_BINS))
    with pytest.raises(ValueError, match=r"\(N,1,H,W\)"):
        model(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match="width"):
        PaletteNet(width=0)
    with pytest.raises(ValueError, match="recolour"):
        PaletteNet(width=4, recolour=1.5)


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    model = PaletteNet(width=4)
    data = red_or_green_pairs(n=4)
    loss, parts = model.training_loss(data.l, data.ab, parts=True)
    loss.backward()
    assert set(parts) == {"colour", "palette_bce"}
    assert loss.item() == pytest.approx((parts["colour"] + model.palette_weight * parts["palette_bce"]).item(), rel=1e-5)
    for name, p in model.named_parameters():
        assert p.grad is not None and bool(torch.isfinite(p.grad).all()), name
        assert p.grad.abs().sum() > 0, name


def test_recolouring_teaches_hues_the_training_images_never_had(trained):
    """Red and green (b = +20) are all the training images hold; hue-rotated copies teach the colorizer the rest.

    Without them a colorizer handed a blue, cyan or purple palette stays with the data's yellowish b: it
    has learnt to follow only the palettes it saw. (That is what made notebook 06's 'towards green' button
    turn a cat orange.)
    """
    model, data, _ = trained
    assert model.recolour == 0.5
    fresh = red_or_green_pairs(seed=1)
    torch.manual_seed(0)
    untaught = PaletteNet(width=4, palette_weight=10.0, recolour=0.0)
    fit(untaught, data, TrainConfig(steps=50, batch_size=8, lr=1e-2, log_every=10), progress=False)
    for colour in ("blue", "cyan", "purple"):  # all with b < 0
        target = torch.tensor(NAMED_COLOURS[colour])
        with torch.no_grad():
            followed = (model(fresh.l, palette=target_histogram(colour)) * 110).mean(dim=(0, 2, 3))
            ignored = (untaught(fresh.l, palette=target_histogram(colour)) * 110).mean(dim=(0, 2, 3))
        assert (followed - target).norm() < 35, (colour, followed.tolist())
        assert ignored[1] > 0, (colour, ignored.tolist())


def test_checkpoint_round_trip(tmp_path, trained):
    model, data, _ = trained
    path = save_checkpoint(tmp_path / "palette.pt", model)
    state = load_checkpoint(path)
    again = state["model"]
    assert isinstance(again, PaletteNet) and again.config == model.config
    assert again.config == {"name": "palette", "width": 4, "palette_weight": 10.0, "recolour": 0.5}
    with torch.no_grad():
        assert torch.equal(again(data.l[:4]), model(data.l[:4]))
    assert isinstance(build_model(model.config), PaletteNet)


def test_training_lowers_the_loss(trained):
    _, _, history = trained
    assert history.steps_done == 50 and len(history.loss) == 5
    assert history.loss[-1] < 0.5 * history.loss[0]


def test_the_colorizer_follows_the_palette_it_is_given(trained):
    """The averaging problem solved: L cannot tell red from green; the palette can.

    Measured on textures the network has not seen: on its 16 training images a network can learn by heart
    which texture was red, and its own palette estimate is then right for the wrong reason.
    """
    model, _, _ = trained
    fresh = red_or_green_pairs(seed=1)
    true = ab_histogram(fresh.ab * 110)
    with torch.no_grad():
        a_true = (model(fresh.l, palette=true) * 110)[:, 0].mean(dim=(1, 2))  # mean a per image
        a_estimated = (model(fresh.l) * 110)[:, 0].mean(dim=(1, 2))
    target = torch.tensor([RED[0] if i % 2 == 0 else GREEN[0] for i in range(len(fresh))])
    assert (a_true - target).abs().mean() < 12
    assert bool((a_true[0::2] > 20).all()) and bool((a_true[1::2] < -20).all())
    # From L alone nobody can know: with its own estimate of the palette the colours are far off (near the
    # brownish average, or the wrong one of the two), 45 on average for a network that guesses.
    assert (a_estimated - target).abs().mean() > 25


def test_pushing_towards_red_raises_a(trained):
    model, data, _ = trained
    green = ab_histogram(data.ab[1:2] * 110)  # image 1 is green
    with torch.no_grad():
        a = [(model(data.l[1:2], palette=push_palette(green, "red", s)) * 110)[:, 0].mean().item()
             for s in (0.0, 0.5, 1.0)]
        # pushed all the way to the training set's own red (a narrow blob): red
        red = (model(data.l[1:2], palette=push_palette(green, RED, 1.0, sigma=5.0)) * 110)[:, 0].mean().item()
    assert a[0] < -25 and a[0] < a[1] < a[2] and a[2] > a[0] + 30
    assert red > 15


def test_fit_refuses_a_network_without_an_objective_and_data_that_is_not_lab_pairs():
    with pytest.raises(ValueError, match="no objective"):
        fit(torch.nn.Linear(1, 1), red_or_green_pairs(n=2))
    with pytest.raises(ValueError, match="LabPairs"):
        fit(PaletteNet(width=4), (torch.zeros(1, 1, 8, 8), torch.zeros(1, 2, 8, 8)))


def test_a_plain_training_loop_is_refused():
    """A loop that calls model(l) in training would train only the colorizer, on the untrained estimate."""
    model = PaletteNet(width=4).train()
    with pytest.raises(ValueError, match="true palette"):
        model(torch.zeros(2, 1, 8, 8))
    with torch.no_grad():  # evaluation in train mode (e.g. batch statistics) is fine
        assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 2, 8, 8)
