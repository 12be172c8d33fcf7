"""Tests for colorlab.metrics: values worked out by hand, then cross-checks against references."""

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from colorlab import metrics, quantize
from colorlab.color import rgb_to_yuv
from colorlab.metrics import (
    ab_rmse,
    auc,
    auc_curve,
    colorfulness,
    psnr,
    rebalanced_auc,
    uv_loss,
    uv_loss_yuv,
)

DTYPES = [torch.float32, torch.float64]


def uniform_rgb(r, g, b, h=4, w=6, n=1, dtype=torch.float64):
    """An (N,3,H,W) image of one colour."""
    return torch.tensor([r, g, b], dtype=dtype).view(1, 3, 1, 1).expand(n, 3, h, w).clone()


def ab_offset(d, h=4, w=5, n=1, dtype=torch.float64):
    """Truth ab = 0 and a prediction off by exactly d along a (whole numbers keep the distance exact)."""
    true = torch.zeros(n, 2, h, w, dtype=dtype)
    pred = true.clone()
    pred[:, 0] = d
    return pred, true


def brute_auc(pred, true, max_threshold=150, weights=None):
    """The definition, spelled out: every threshold compared with every pixel, then numpy's trapezoid."""
    d = torch.linalg.vector_norm((pred - true).double(), dim=1).flatten(1).numpy()  # (N, P)
    w = np.ones_like(d) if weights is None else weights.double().reshape(d.shape).numpy()
    t = np.arange(max_threshold + 1)
    within = d[:, :, None] <= t  # (N, P, T+1)
    frac = (within * w[:, :, None]).sum(1) / w.sum(1, keepdims=True)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # NumPy < 2 only has trapz
    return trapezoid(frac, dx=1.0, axis=1) / max_threshold, frac


# ------------------------------------------------------------------ UV loss

@pytest.mark.parametrize("dtype", DTYPES)
def test_uv_loss_red_against_gray_by_hand(dtype):
    # BT.601 rows: U = -0.14714119 R - 0.28886916 G + 0.43601035 B, V = 0.61497538 R - 0.51496512 G - 0.10001026 B.
    # Gray (0.5, 0.5, 0.5): each row sums to 0, so U = V = 0.
    # Red (1, 0, 0): U = -0.14714119, V = 0.61497538.
    # Every pixel has the same error, so sum / (2WH) = WH (U^2 + V^2) / (2WH)
    #   = (0.0216505298 + 0.3781947180) / 2 = 0.1999226239.
    red, gray = uniform_rgb(1, 0, 0, dtype=dtype), uniform_rgb(0.5, 0.5, 0.5, dtype=dtype)
    loss = uv_loss(red, gray)
    assert loss.shape == () and loss.dtype == dtype
    assert loss.item() == pytest.approx(0.1999226239, rel=1e-6)
    assert uv_loss(gray, red).item() == pytest.approx(0.1999226239, rel=1e-6)  # symmetric
    assert uv_loss(red, red).item() == 0.0


def test_uv_loss_half_image_differs():
    # Only the left half (3 of 6 columns) is red instead of gray: the sum of squares halves, the divisor stays 2WH.
    gray = uniform_rgb(0.5, 0.5, 0.5)
    half = gray.clone()
    half[..., :3] = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).view(1, 3, 1, 1)
    assert uv_loss(half, gray).item() == pytest.approx(0.1999226239 / 2, rel=1e-6)


def test_uv_loss_yuv_definition_and_agreement():
    # A single (2,H,W) pair: U off by 0.1 everywhere, V off by 0.2 on one pixel of 2x2.
    # sum of squares = 4 * 0.01 + 0.04 = 0.08; / (2 * 2 * 2) = 0.01.
    true = torch.zeros(2, 2, 2, dtype=torch.float64)
    pred = true.clone()
    pred[0] += 0.1
    pred[1, 0, 0] = 0.2
    assert uv_loss_yuv(pred, true).item() == pytest.approx(0.01)

    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 3, 8, 8, generator=g), torch.rand(3, 3, 8, 8, generator=g)
    direct = uv_loss_yuv(rgb_to_yuv(a)[:, 1:], rgb_to_yuv(b)[:, 1:], reduction="none")
    torch.testing.assert_close(uv_loss(a, b, reduction="none"), direct)


def test_uv_loss_gradients_flow():
    # d/dp sum((p - t)^2) / (2WH) = (p - t) / (WH).
    g = torch.Generator().manual_seed(1)
    p = torch.randn(2, 2, 3, 5, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(2, 2, 3, 5, generator=g, dtype=torch.float64)
    uv_loss_yuv(p, t, reduction="none").sum().backward()
    torch.testing.assert_close(p.grad, (p - t).detach() / 15)

    # Through the RGB -> YUV conversion too (values kept well inside [0, 1]).
    rgb = (0.25 + 0.5 * torch.rand(1, 3, 4, 4, generator=g, dtype=torch.float64)).requires_grad_()
    target = torch.rand(1, 3, 4, 4, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: uv_loss(x, target), (rgb,))
    loss = uv_loss(rgb.float(), target.float())
    loss.backward()
    assert rgb.grad is not None and torch.isfinite(rgb.grad).all() and rgb.grad.abs().sum() > 0


# ------------------------------------------------------------------ ab RMSE

@pytest.mark.parametrize("dtype", DTYPES)
def test_ab_rmse_by_hand(dtype):
    # Every pixel off by (3, 4): distance 5, so the RMS is 5 (the per-channel RMSE would be 5 / sqrt(2)).
    true = torch.zeros(1, 2, 3, 3, dtype=dtype)
    pred = true.clone()
    pred[:, 0], pred[:, 1] = 3.0, 4.0
    out = ab_rmse(pred, true)
    assert out.dtype == dtype and out.item() == pytest.approx(5.0)
    # Half the pixels exact, half off by 10: sqrt((0 + 100) / 2) = sqrt(50) = 7.0711.
    pred = true.clone()[..., :2]
    pred[:, 0, :, 1] = 10.0
    assert ab_rmse(pred, true[..., :2]).item() == pytest.approx(math.sqrt(50), rel=1e-6)


# --------------------------------------------------------------------- AuC

@pytest.mark.parametrize("dtype", DTYPES)
def test_auc_perfect_prediction_is_one(dtype):
    # Distance 0 is within every threshold 0..150: the curve is 1 everywhere, its area 150, / 150 = 1.
    _, true = ab_offset(0, dtype=dtype)
    true = true + torch.tensor([20.0, -40.0], dtype=dtype).view(1, 2, 1, 1)
    out = auc(true.clone(), true)
    assert out.dtype == dtype and out.item() == 1.0


@pytest.mark.parametrize(
    "d, expected",
    [
        # d = 30.5: the curve is 0 for t <= 30 and 1 for t >= 31. Trapezoids: [30, 31] gives 0.5,
        # [31, 32] ... [149, 150] give 119 x 1. Area 119.5, / 150 = 0.796666..., which is (150 - 30.5) / 150.
        (30.5, 119.5 / 150),
        # d = 30: within t = 30 already (<=). [29, 30] gives 0.5, [30, 31] ... [149, 150] give 120: 120.5 / 150.
        (30.0, 120.5 / 150),
        # d = 150: only f(150) = 1, so just the last trapezoid [149, 150] gives 0.5: 0.5 / 150.
        (150.0, 0.5 / 150),
        # Beyond every threshold: the curve is 0.
        (200.0, 0.0),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_auc_constant_error_by_hand(d, expected, dtype):
    pred, true = ab_offset(d, dtype=dtype)
    assert auc(pred, true).item() == pytest.approx(expected, abs=1e-7)


def test_auc_with_weights_by_hand():
    # Two pixels: one exact (AuC contribution 1), one off by 200 (contribution 0).
    # Unweighted: (1 + 0) / 2 = 0.5. Weights 3 and 1: (3 * 1 + 1 * 0) / 4 = 0.75.
    true = torch.zeros(2, 1, 2, dtype=torch.float64)
    pred = true.clone()
    pred[0, 0, 1] = 200.0
    assert auc(pred, true).item() == pytest.approx(0.5)
    w = torch.tensor([[3.0, 1.0]], dtype=torch.float64)  # (H,W) for the single image
    assert auc(pred, true, weights=w).item() == pytest.approx(0.75)
    # Scaling the weights changes nothing.
    assert auc(pred, true, weights=10 * w).item() == pytest.approx(0.75)


def test_auc_matches_brute_force_definition():
    g = torch.Generator().manual_seed(2)
    true = torch.randn(3, 2, 16, 16, generator=g, dtype=torch.float64) * 40
    pred = true + torch.randn(3, 2, 16, 16, generator=g, dtype=torch.float64) * 50
    weights = torch.rand(3, 16, 16, generator=g, dtype=torch.float64)
    for max_threshold, w in [(150, None), (150, weights), (40, weights), (1, None)]:
        expected, frac = brute_auc(pred, true, max_threshold, w)
        got = auc(pred, true, max_threshold=max_threshold, weights=w, reduction="none")
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)
        thresholds, curve = auc_curve(pred, true, max_threshold=max_threshold, weights=w, reduction="none")
        np.testing.assert_allclose(curve.numpy(), frac, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(thresholds.numpy(), np.arange(max_threshold + 1))
    # float32 agrees with float64 to metric precision.
    assert auc(pred.float(), true.float()).item() == pytest.approx(auc(pred, true).item(), abs=1e-5)


def test_auc_curve_shape_and_steps():
    pred, true = ab_offset(30.5, n=2)
    pred[1] = 0.0  # the second image is perfect
    thresholds, curve = auc_curve(pred, true, reduction="none")
    assert thresholds.shape == (151,) and curve.shape == (2, 151)
    assert curve[0, 30] == 0.0 and curve[0, 31] == 1.0 and (curve[1] == 1.0).all()
    _, mean_curve = auc_curve(pred, true)
    assert mean_curve.shape == (151,) and mean_curve[30] == 0.5 and mean_curve[31] == 1.0
    _, single = auc_curve(pred[0], true[0])  # unbatched -> (T+1,)
    assert single.shape == (151,)


def test_auc_memory_friendly_on_a_large_batch():
    # 16 images of 256 x 256: must not build a (pixels x 151) array (that would be 1.3 GB in float64).
    true = torch.zeros(16, 2, 256, 256)
    pred = torch.full_like(true, 3.0)  # distance sqrt(18) = 4.24: contribution (150 + 0.5 - 5) / 150
    assert auc(pred, true).item() == pytest.approx(145.5 / 150, rel=1e-6)


# ---------------------------------------------------------- rebalanced AuC

def bin_of(a, b):
    return quantize.BIN_CENTERS.index((float(a), float(b)))


def common_and_rare():
    """100 pixels: 90 of a common gray (0, 0) predicted exactly, 10 of a rare green-yellow (50, 50) predicted
    60.5 away at (-10.5, 50), which lies near a third bin, (-10, 50)."""
    true = torch.zeros(1, 2, 10, 10, dtype=torch.float64)
    true[0, :, 0, :] = 50.0  # the first row is the rare colour
    pred = true.clone()
    pred[0, 0, 0, :] = -10.5
    return pred, true


def test_rebalanced_auc_differs_from_auc_by_hand():
    pred, true = common_and_rare()
    # Per pixel: common pixels contribute 1; rare ones (150 - 60.5) / 150 = 89.5 / 150 = 0.596667 (half-way d).
    # auc: (90 * 1 + 10 * 0.596667) / 100 = 0.9596667.
    assert auc(pred, true).item() == pytest.approx(0.9 + 0.1 * 89.5 / 150)
    # rebalanced with the images' own frequencies: weights 1/90 and 1/10, so each class totals 1:
    # (1 + 0.596667) / 2 = 0.7983333.
    expected = (1 + 89.5 / 150) / 2
    assert rebalanced_auc(pred, true).item() == pytest.approx(expected)

    # An explicit prior with the same proportions gives the same value; its scale does not matter.
    prior = torch.zeros(quantize.NUM_BINS, dtype=torch.float64)
    prior[bin_of(0, 0)], prior[bin_of(50, 50)] = 0.9, 0.1
    # A large prior on the bin of the *predicted* colour: ignored, as the weights use the truth's bins
    # (weighting by predicted bins would give 1/0.9 to the rare pixels and reproduce plain auc).
    prior[bin_of(-10, 50)] = 0.9
    assert rebalanced_auc(pred, true, prior=prior).item() == pytest.approx(expected)
    assert rebalanced_auc(pred, true, prior=prior * 7).item() == pytest.approx(expected)

    # A prior that says both colours are equally common reproduces the plain AuC.
    prior[bin_of(0, 0)], prior[bin_of(50, 50)] = 0.5, 0.5
    assert rebalanced_auc(pred, true, prior=prior).item() == pytest.approx(0.9 + 0.1 * 89.5 / 150)


def test_rebalanced_auc_with_a_prior_below_float32s_range():
    # A smoothed prior reaches 1e-62 on rare bins; in float32 that is 0, which used to raise "prior is
    # 0" (or give infinite weights just above). The same proportions at any scale give the same value.
    pred, true = common_and_rare()
    pred, true = pred.float(), true.float()
    prior = torch.full((quantize.NUM_BINS,), 1e-70, dtype=torch.float64)
    prior[bin_of(0, 0)], prior[bin_of(50, 50)] = 0.9e-55, 0.1e-55
    expected = (1 + 89.5 / 150) / 2
    assert rebalanced_auc(pred, true, prior=prior).item() == pytest.approx(expected, rel=1e-5)
    # a rare class 1e-60 times rarer than the common one: the rare pixels decide, and nothing overflows
    prior[bin_of(50, 50)] = 0.9e-115
    out = rebalanced_auc(pred, true, prior=prior)
    assert torch.isfinite(out) and out.item() == pytest.approx(89.5 / 150, rel=1e-5)


def test_rebalanced_auc_per_image_and_prior_errors():
    pred, true = common_and_rare()
    both_pred, both_true = torch.cat([pred, true]), torch.cat([true, true])  # second image perfect
    out = rebalanced_auc(both_pred, both_true, reduction="none")
    torch.testing.assert_close(out, torch.tensor([(1 + 89.5 / 150) / 2, 1.0], dtype=torch.float64))

    prior = torch.zeros(quantize.NUM_BINS)
    prior[bin_of(0, 0)] = 1.0  # but (50, 50) also occurs in the truth
    with pytest.raises(ValueError, match=rf"bins \[{bin_of(50, 50)}\].*prior is 0"):
        rebalanced_auc(pred, true, prior=prior)
    with pytest.raises(ValueError, match=r"shape \(313,\)"):
        rebalanced_auc(pred, true, prior=torch.ones(312))
    with pytest.raises(ValueError, match="non-negative"):
        rebalanced_auc(pred, true, prior=-torch.ones(313))
    with pytest.raises(ValueError, match="NaN"):
        rebalanced_auc(pred, true, prior=torch.full((313,), float("nan")))


# ------------------------------------------------------------ colorfulness

@pytest.mark.parametrize("dtype", DTYPES)
def test_colorfulness_by_hand(dtype):
    # Uniform pure red on 0-255: rg = 255 - 0 = 255, yb = (255 + 0) / 2 - 0 = 127.5; both std 0.
    # 0 + 0.3 * sqrt(255^2 + 127.5^2) = 0.3 * sqrt(81281.25) = 0.3 * 285.0987 = 85.5296.
    red = uniform_rgb(1, 0, 0, dtype=dtype)
    out = colorfulness(red)
    assert out.dtype == dtype and out.item() == pytest.approx(85.5296001, rel=1e-6)

    # Half red, half green: rg is +255 or -255 (mean 0, population std 255); yb is 127.5 for both (std 0).
    # sqrt(255^2 + 0) + 0.3 * sqrt(0 + 127.5^2) = 255 + 38.25 = 293.25.
    half = red.clone()
    half[..., 3:] = torch.tensor([0.0, 1.0, 0.0], dtype=dtype).view(1, 3, 1, 1)
    assert colorfulness(half).item() == pytest.approx(293.25, rel=1e-6)

    # Any gray (R = G = B, even varying across the image): rg = yb = 0 everywhere, so 0.
    gray = torch.rand(1, 1, 5, 5, dtype=dtype).expand(1, 3, 5, 5)
    assert colorfulness(gray).item() == pytest.approx(0.0, abs=1e-4)


def test_colorfulness_matches_numpy_reference():
    g = torch.Generator().manual_seed(3)
    rgb = torch.rand(4, 3, 9, 7, generator=g, dtype=torch.float64)
    x = rgb.numpy() * 255
    rg = x[:, 0] - x[:, 1]
    yb = 0.5 * (x[:, 0] + x[:, 1]) - x[:, 2]
    ref = [
        np.hypot(rg[i].std(), yb[i].std()) + 0.3 * np.hypot(rg[i].mean(), yb[i].mean()) for i in range(4)
    ]
    np.testing.assert_allclose(colorfulness(rgb, reduction="none").numpy(), ref, rtol=1e-12)
    assert colorfulness(rgb).item() == pytest.approx(np.mean(ref))


# -------------------------------------------------------------------- PSNR

@pytest.mark.parametrize("dtype", DTYPES)
def test_psnr_constant_error_by_hand(dtype):
    # Every value off by 0.1: mse = 0.01, 10 log10(1 / 0.01) = 20 dB.
    true = uniform_rgb(0.5, 0.5, 0.5, dtype=dtype)
    out = psnr(true + 0.1, true)
    assert out.dtype == dtype and out.item() == pytest.approx(20.0, rel=1e-5)
    # On a 0-255 scale: off by 10, mse = 100, 10 log10(255^2 / 100) = 28.1308 dB.
    true255 = torch.full((1, 3, 4, 4), 100.0, dtype=dtype)
    assert psnr(true255 + 10, true255, data_range=255).item() == pytest.approx(28.1308036, rel=1e-6)


def test_psnr_matches_skimage_and_identical_is_inf():
    g = torch.Generator().manual_seed(4)
    true = torch.rand(3, 3, 12, 10, generator=g, dtype=torch.float64)
    pred = (true + 0.05 * torch.randn(3, 3, 12, 10, generator=g, dtype=torch.float64)).clamp(0, 1)
    ref = [peak_signal_noise_ratio(true[i].numpy(), pred[i].numpy(), data_range=1.0) for i in range(3)]
    np.testing.assert_allclose(psnr(pred, true, reduction="none").numpy(), ref, rtol=1e-10)
    assert psnr(true, true).item() == math.inf
    assert math.isinf(psnr(torch.stack([pred[0], true[1]]), torch.stack([true[0], true[1]])).item())


def test_psnr_refuses_values_outside_data_range():
    true = torch.full((1, 3, 4, 4), 100.0)
    with pytest.raises(ValueError, match=r"\[0, 1\].*divide by 255"):
        psnr(true, true)
    with pytest.raises(ValueError, match="data_range"):
        psnr(true / 255, true / 255, data_range=0)


# ------------------------------------------------ reductions, shapes, dtypes

def _ab_pair(n=2, dtype=torch.float64):
    g = torch.Generator().manual_seed(5)
    true = torch.randn(n, 2, 6, 6, generator=g, dtype=dtype) * 30
    return true + torch.randn(n, 2, 6, 6, generator=g, dtype=dtype) * 20, true


def _rgb_pair(n=2, dtype=torch.float64):
    g = torch.Generator().manual_seed(6)
    return torch.rand(n, 3, 6, 6, generator=g, dtype=dtype), torch.rand(n, 3, 6, 6, generator=g, dtype=dtype)


PAIR_METRICS = [
    (uv_loss, _rgb_pair),
    (psnr, _rgb_pair),
    (uv_loss_yuv, lambda n=2, dtype=torch.float64: tuple(x[:, 1:] for x in _rgb_pair(n, dtype))),
    (ab_rmse, _ab_pair),
    (auc, _ab_pair),
    (rebalanced_auc, _ab_pair),
]
IDS = [f.__name__ for f, _ in PAIR_METRICS]


@pytest.mark.parametrize("fn, make", PAIR_METRICS, ids=IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_reductions_and_unbatched(fn, make, dtype):
    pred, true = make(3, dtype)
    per_image = fn(pred, true, reduction="none")
    assert per_image.shape == (3,) and per_image.dtype == dtype
    for i in range(3):  # each value is that image's own, independent of the rest of the batch
        single = fn(pred[i], true[i])
        assert single.shape == () and fn(pred[i], true[i], reduction="none").shape == ()
        torch.testing.assert_close(single, per_image[i])
    torch.testing.assert_close(fn(pred, true), per_image.mean())
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'none'"):
        fn(pred, true, reduction="sum")


def test_colorfulness_reductions():
    rgb, _ = _rgb_pair(3)
    per_image = colorfulness(rgb, reduction="none")
    assert per_image.shape == (3,)
    torch.testing.assert_close(colorfulness(rgb[1]), per_image[1])
    torch.testing.assert_close(colorfulness(rgb), per_image.mean())


def test_mixed_dtypes_and_numpy_input():
    pred, true = _ab_pair()
    assert auc(pred.float(), true).dtype == torch.float64  # promoted
    assert ab_rmse(pred.numpy(), true.numpy()).item() == pytest.approx(ab_rmse(pred, true).item())


@pytest.mark.parametrize("fn, make", PAIR_METRICS, ids=IDS)
def test_bad_input_raises_value_error(fn, make):
    pred, true = make(2, torch.float64)
    c = pred.shape[1]
    with pytest.raises(ValueError, match=rf"expected shape \({c},H,W\) or \(N,{c},H,W\).*got shape \(6, 6\)"):
        fn(pred[0, 0], true[0, 0])  # (H,W): no channel axis
    wrong = torch.zeros(2, c + 1, 6, 6, dtype=pred.dtype)
    with pytest.raises(ValueError, match="expected shape"):
        fn(wrong, wrong)
    with pytest.raises(ValueError, match="must have the same shape.*\\(2, .*, 6, 6\\) and \\(2, .*, 6, 5\\)"):
        fn(pred, true[..., :5])
    with pytest.raises(ValueError, match="uint8"):
        fn((pred.abs() * 255).clamp(0, 255).to(torch.uint8), true)
    bad = pred.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fn(bad, true)
    with pytest.raises(ValueError, match="batch is empty"):
        fn(pred[:0], true[:0])


def test_uint8_range_rgb_in_floats_is_refused():
    pred, true = _rgb_pair()
    with pytest.raises(ValueError, match="divide by 255"):
        uv_loss(pred * 255, true)
    with pytest.raises(ValueError, match="divide by 255"):
        colorfulness(pred * 255)
    with pytest.raises(ValueError, match="uint8"):
        colorfulness((pred * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="batch is empty"):
        colorfulness(pred[:0])


def test_auc_argument_errors():
    pred, true = _ab_pair()
    for bad in (0, -5, 2.5, True, "150"):
        with pytest.raises(ValueError, match="max_threshold"):
            auc(pred, true, max_threshold=bad)
    with pytest.raises(ValueError, match=r"weights must have shape \(2, 6, 6\)"):
        auc(pred, true, weights=torch.ones(6, 6))
    with pytest.raises(ValueError, match="non-negative"):
        auc(pred, true, weights=-torch.ones(2, 6, 6))
    w = torch.ones(2, 6, 6)
    w[1] = 0
    with pytest.raises(ValueError, match=r"image\(s\) \[1\] sum to 0"):
        auc(pred, true, weights=w)
    with pytest.raises(ValueError, match="NaN"):
        auc_curve(pred, true, weights=torch.full((2, 6, 6), float("nan")))


def test_module_exports():
    assert set(metrics.__all__) == {
        "uv_loss", "uv_loss_yuv", "ab_rmse", "auc", "auc_curve", "pixel_auc", "rebalanced_auc", "colorfulness", "psnr",
    }
