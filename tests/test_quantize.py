import math

import numpy as np
import pytest
import torch

from colorlab import quantize as Q

# COURSE.md's table of Zhang's in-gamut bins, typed in again here: (a, b_min, b_max).
TABLE = [
    (-90, 50, 90), (-80, 20, 90), (-70, 0, 90), (-60, -20, 90), (-50, -30, 100),
    (-40, -40, 100), (-30, -50, 100), (-20, -50, 100), (-10, -60, 100), (0, -70, 100),
    (10, -80, 90), (20, -80, 90), (30, -90, 90), (40, -100, 90), (50, -100, 80),
    (60, -110, 80), (70, -110, 80), (80, -110, 70), (90, -110, 70), (100, -90, 0),
]


def expected_centers():
    return np.array([(a, b) for a, lo, hi in TABLE for b in range(lo, hi + 1, 10)], dtype=np.float64)


def random_ab(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g, dtype=torch.float64) * 220 - 110)


def test_bin_centers_match_the_table_in_order():
    centers = Q.bin_centers(dtype=torch.float64).numpy()
    assert centers.shape == (313, 2)
    np.testing.assert_array_equal(centers, expected_centers())
    # Zhang's order: a ascending, then b ascending within a
    assert centers[0].tolist() == [-90, 50] and centers[-1].tolist() == [100, 0]
    assert len({tuple(c) for c in centers}) == 313


@pytest.mark.parametrize("spread", [0.3, 1.0, 2.5], ids=["photo-like", "whole-grid", "far-out-of-gamut"])
def test_encode_hard_is_the_nearest_centre(spread):
    # in gamut the lattice lookup answers; out of gamut the brute-force fallback does: both must agree
    ab = random_ab((3, 2, 7, 5)) * spread
    bins = Q.encode_hard(ab)
    assert bins.shape == (3, 7, 5) and bins.dtype == torch.long
    pix = ab.permute(0, 2, 3, 1).reshape(-1, 2).numpy()
    d = ((pix[:, None, :] - expected_centers()[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(bins.reshape(-1).numpy(), d.argmin(1))


def test_each_centre_encodes_to_itself_and_unbatched_works():
    c = Q.bin_centers(dtype=torch.float64)  # (313, 2)
    ab = c.T.reshape(2, 313, 1)
    assert Q.encode_hard(ab).reshape(-1).tolist() == list(range(313))


def test_bin_cells_lay_the_bins_on_the_lattice():
    cells = Q.bin_cells()
    assert cells.shape == (313, 2) and cells.dtype == torch.long
    assert int(cells.min()) >= 0 and int(cells.max()) < Q.LATTICE_N
    centres = Q.LATTICE_LO + Q.GRID * cells.double()
    assert torch.equal(centres, Q.bin_centers(dtype=torch.float64))


def test_nearest_bin_without_host_sync_agrees_with_the_exact_search():
    # exact=False is fast_histogram's GPU path (lattice candidates, no host sync), run here on the CPU
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(4, 3, 16, 16, generator=g) ** 3  # many saturated, dark colours
    from colorlab.color import rgb_to_lab

    photo = rgb_to_lab(rgb)[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2)
    assert torch.equal(Q.nearest_bin(photo, exact=False), Q.encode_hard(photo.T[:, :, None]).reshape(-1))
    assert torch.equal(Q.nearest_bin(photo), Q.nearest_bin(photo, exact=False))
    wide = torch.empty(2, 2, 32, 32).uniform_(-115, 115, generator=torch.Generator().manual_seed(1))
    pixels = wide.permute(0, 2, 3, 1).reshape(-1, 2)
    assert (Q.nearest_bin(pixels, exact=False) != Q.encode_hard(wide).reshape(-1)).float().mean() < 1e-3  # ties only


def test_soft_encode_sums_to_one_over_k_nearest():
    ab = random_ab((2, 2, 4, 4), seed=1)
    soft = Q.soft_encode(ab)
    assert soft.shape == (2, 313, 4, 4)
    torch.testing.assert_close(soft.sum(1), torch.ones(2, 4, 4, dtype=soft.dtype))
    assert ((soft > 0).sum(1) == 5).all()
    # the largest weight sits on the nearest bin
    assert torch.equal(soft.argmax(1), Q.encode_hard(ab))


def test_soft_encode_weights_by_hand():
    # A pixel exactly between bins (0, 0) and (10, 0): the two nearest get equal weight,
    # with k=2 each is 1/2. With k=3 the third nearest ((0, 10) at distance sqrt(125))
    # gets exp(-125/50)/(2 exp(-25/50) + exp(-125/50)) relative weight.
    ab = torch.tensor([5.0, 0.0], dtype=torch.float64).reshape(2, 1, 1)
    soft2 = Q.soft_encode(ab, k=2, sigma=5.0)[:, 0, 0]
    centers = Q.bin_centers(dtype=torch.float64)
    i0 = int(((centers - torch.tensor([0.0, 0.0], dtype=torch.float64)).abs().sum(1) == 0).nonzero())
    i1 = int(((centers - torch.tensor([10.0, 0.0], dtype=torch.float64)).abs().sum(1) == 0).nonzero())
    assert soft2[i0].item() == pytest.approx(0.5) and soft2[i1].item() == pytest.approx(0.5)
    soft3 = Q.soft_encode(ab, k=3, sigma=5.0)[:, 0, 0]
    near, far = math.exp(-25 / 50), math.exp(-125 / 50)
    third = sorted(soft3.tolist())[-3]
    assert third == pytest.approx(far / (2 * near + far))


def test_soft_encode_far_out_of_gamut_colour_is_still_a_distribution():
    ab = torch.tensor([400.0, -400.0]).reshape(2, 1, 1)
    soft = Q.soft_encode(ab)
    assert torch.isfinite(soft).all() and soft.sum().item() == pytest.approx(1.0)


def test_class_prior_counts_and_smoothing():
    # 3 pixels on bin (0,0), 1 pixel on bin (50,50): raw prior 0.75 / 0.25
    ab = torch.tensor([[0.0, 0.0, 0.0, 50.0], [0.0, 0.0, 0.0, 50.0]]).reshape(2, 1, 4)
    raw = Q.class_prior(ab, sigma=None)
    i0, i1 = Q.encode_hard(torch.tensor([[0.0, 50.0], [0.0, 50.0]]).reshape(2, 1, 2)).reshape(-1).tolist()
    assert raw[i0].item() == pytest.approx(0.75) and raw[i1].item() == pytest.approx(0.25)
    assert raw.sum().item() == pytest.approx(1.0) and (raw > 0).sum() == 2
    smooth = Q.class_prior(ab)
    assert smooth.sum().item() == pytest.approx(1.0)
    # sigma 5 on a grid of 10: a neighbour gets exp(-100/50) = e^-2 of the centre's mass before normalising
    centers = Q.bin_centers(dtype=torch.float64)
    j = int(((centers - torch.tensor([10.0, 0.0], dtype=torch.float64)).abs().sum(1) == 0).nonzero())
    assert smooth[j].item() / smooth[i0].item() == pytest.approx(math.exp(-2), rel=0.05)
    # counts give the same prior as pixels
    torch.testing.assert_close(Q.class_prior(Q.bin_counts(ab)), smooth)


def test_rebalance_weights_normalised_and_limits():
    prior = Q.class_prior(random_ab((1, 2, 16, 16), seed=3) * 0.3)
    for lam in (0.0, 0.5, 1.0):
        w = Q.rebalance_weights(prior, lam)
        assert (prior * w).sum().item() == pytest.approx(1.0)
    torch.testing.assert_close(Q.rebalance_weights(prior, 1.0), torch.ones(313, dtype=torch.float64))
    w = Q.rebalance_weights(prior, 0.5)
    # rare colours weigh more than common ones
    assert w[prior.argmin()] > w[prior.argmax()]
    # by hand: w_q = 1 / (0.5 p_q + 0.5/313), then scaled by 1 / sum(p w)
    raw = 1 / (0.5 * prior + 0.5 / 313)
    torch.testing.assert_close(w, raw / (prior * raw).sum())


def test_rebalance_weights_lambda_zero_with_empty_bins():
    prior = torch.zeros(313, dtype=torch.float64)
    prior[0], prior[1] = 0.75, 0.25
    w = Q.rebalance_weights(prior, 0.0)
    # w = 1/p normalised: sum(p w) = 2 bins -> w0 = (1/0.75)/2, w1 = (1/0.25)/2, others 0
    assert w[0].item() == pytest.approx(2 / 3) and w[1].item() == pytest.approx(2.0)
    assert (w[2:] == 0).all()


def test_rebalance_weights_bad_input():
    with pytest.raises(ValueError, match="shape"):
        Q.rebalance_weights(torch.ones(10) / 10)
    with pytest.raises(ValueError, match="distribution"):
        Q.rebalance_weights(torch.ones(313))
    with pytest.raises(ValueError, match="lam"):
        Q.rebalance_weights(torch.ones(313) / 313, 1.5)


def test_decoding_mode_mean_annealed():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 313, 3, 4, generator=g, dtype=torch.float64) * 3
    centers = Q.bin_centers(dtype=torch.float64)
    probs = torch.softmax(logits, 1)
    mean = torch.einsum("nqhw,qc->nchw", probs, centers)
    torch.testing.assert_close(Q.decode_mean(logits), mean)
    torch.testing.assert_close(Q.annealed_mean(logits, 1.0), mean)
    mode = centers[logits.argmax(1)].permute(0, 3, 1, 2)
    torch.testing.assert_close(Q.decode_mode(logits), mode)
    torch.testing.assert_close(Q.annealed_mean(logits, 1e-4), mode)
    # Zhang's formula on probabilities: exp(log z / T) normalised
    T = 0.38
    f = torch.exp(torch.log(probs) / T)
    f = f / f.sum(1, keepdim=True)
    torch.testing.assert_close(Q.annealed_mean(logits, T), torch.einsum("nqhw,qc->nchw", f, centers))
    torch.testing.assert_close(Q.decode(logits, "annealed", T), Q.annealed_mean(logits, T))


def test_annealed_mean_is_stable_for_tiny_temperature_and_large_logits():
    logits = torch.zeros(1, 313, 1, 1)
    logits[0, 7] = 1e4
    logits[0, 8] = 1e4 - 1
    for T in (1e-6, 1e-3, 0.38):
        ab = Q.annealed_mean(logits, T)
        assert torch.isfinite(ab).all()
    torch.testing.assert_close(Q.annealed_mean(logits, 1e-6)[0, :, 0, 0], Q.bin_centers()[7])


def test_annealed_mean_saturation_grows_as_temperature_falls():
    # a bimodal distribution: lowering T moves the estimate away from the desaturated mean
    logits = torch.full((1, 313, 1, 1), -10.0)
    centers = Q.bin_centers()
    red = int(((centers - torch.tensor([60.0, 40.0])).abs().sum(1) == 0).nonzero())
    green = int(((centers - torch.tensor([-60.0, 40.0])).abs().sum(1) == 0).nonzero())
    logits[0, red], logits[0, green] = 2.0, 1.6
    chroma = [Q.annealed_mean(logits, T)[0, :, 0, 0].norm().item() for T in (1.0, 0.38, 0.1)]
    assert chroma[0] < chroma[1] < chroma[2]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_annealed_mean_refuses_bad_temperature(bad):
    with pytest.raises(ValueError, match="temperature"):
        Q.annealed_mean(torch.zeros(313, 2, 2), bad)


def test_bad_shapes_and_values():
    with pytest.raises(ValueError, match=r"\(N,2,H,W\)"):
        Q.encode_hard(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="313"):
        Q.decode_mode(torch.zeros(1, 312, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        Q.soft_encode(torch.full((1, 2, 2, 2), float("nan")))
    with pytest.raises(ValueError, match="empty"):
        Q.encode_hard(torch.zeros(0, 2, 4, 4))
    with pytest.raises(ValueError, match="floating"):
        Q.encode_hard(torch.zeros(1, 2, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="method"):
        Q.decode(torch.zeros(313, 1, 1), "median")


def test_soft_encode_sparse_is_soft_encode_without_the_zeros():
    g = torch.Generator().manual_seed(0)
    ab = (torch.rand(3, 2, 5, 6, generator=g) * 2 - 1) * 100  # out-of-gamut corners included
    for k, sigma in ((5, 5.0), (1, 5.0), (3, 2.0)):
        bins, weights = Q.soft_encode_sparse(ab, k=k, sigma=sigma)
        assert bins.shape == weights.shape == (3, k, 5, 6) and bins.dtype == torch.long
        dense = torch.zeros(3, Q.NUM_BINS, 5, 6).scatter_(1, bins, weights)
        torch.testing.assert_close(dense, Q.soft_encode(ab, k=k, sigma=sigma))
        assert (weights[:, :-1] >= weights[:, 1:]).all()  # nearest bin first, so the largest weight first
    assert torch.equal(Q.soft_encode_sparse(ab)[0][:, 0], Q.encode_hard(ab))
    single_bins, single_weights = Q.soft_encode_sparse(ab[0])
    assert torch.equal(single_bins, Q.soft_encode_sparse(ab)[0][0])
    torch.testing.assert_close(single_weights, Q.soft_encode_sparse(ab)[1][0])


@pytest.mark.parametrize("k, sigma", [(0, 5.0), (314, 5.0), (2.5, 5.0), (5, 0.0), (5, float("nan"))])
def test_soft_encode_sparse_rejects_bad_settings(k, sigma):
    with pytest.raises(ValueError, match="soft_encode_sparse: (k|sigma) must be"):
        Q.soft_encode_sparse(torch.zeros(1, 2, 1, 1), k=k, sigma=sigma)
