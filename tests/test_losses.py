"""Tests of colorlab.losses against formulas written out by hand.

The UV loss is 000's formula, the blur loss Dahl's (004): the mean of the plain squared
distance and the distances after 3 and 5 pixel Gaussian blurs, with OpenCV's default sigma
for each kernel size. The references here are computed independently: loops, NumPy, and
SciPy's correlate with mirrored borders (OpenCV's default BORDER_REFLECT_101).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from colorlab import losses
from colorlab.losses import (LOSSES, blur_loss, gaussian_blur, gaussian_sigma, mse, regression_loss, smooth_l1,
                             soft_cross_entropy, soft_cross_entropy_sparse, uv_loss)


pytestmark = pytest.mark.usefixtures("one_thread")


def rand(shape, seed=0, scale=1.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g, dtype=dtype) * 2 - 1) * scale


def opencv_kernel_1d(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-x**2 / (2 * sigma**2))
    return g / g.sum()


def reference_blur(x: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """Per-channel 2-D Gaussian with mirrored borders, in NumPy/SciPy."""
    g = opencv_kernel_1d(size, sigma)
    k2 = np.outer(g, g)
    a = x.detach().double().numpy()
    out = np.empty_like(a)
    for n in range(a.shape[0]):
        for c in range(a.shape[1]):
            out[n, c] = ndimage.correlate(a[n, c], k2, mode="mirror")
    return torch.from_numpy(out)


# ------------------------------------------------------------ mse / UV loss


def uv_loss_by_hand(pred, true):
    n, _, h, w = pred.shape
    per_image = []
    for i in range(n):
        total = 0.0
        for k in range(2):
            for y in range(h):
                for x in range(w):
                    total += float(pred[i, k, y, x] - true[i, k, y, x]) ** 2
        per_image.append(total / (2 * w * h))
    return sum(per_image) / n


@pytest.mark.parametrize("shape", [(1, 2, 3, 4), (3, 2, 5, 2), (2, 2, 1, 7)])
def test_mse_is_000s_uv_loss(shape):
    pred, true = rand(shape, 1), rand(shape, 2)
    value = mse(pred, true)
    assert value.ndim == 0
    assert math.isclose(float(value), uv_loss_by_hand(pred, true), rel_tol=1e-12)
    assert uv_loss is mse


def test_mse_of_a_known_case():
    pred = torch.zeros(1, 2, 2, 2)
    true = torch.zeros(1, 2, 2, 2)
    true[0, 0, 0, 0] = 2.0  # one error of 2 among 2*2*2 values: 4 / 8
    assert float(mse(pred, true)) == pytest.approx(0.5)
    assert float(mse(true, true)) == 0.0


# ---------------------------------------------------------------- smooth L1


def smooth_l1_by_hand(pred, true, beta):
    d = (pred - true).abs().flatten().tolist()
    return sum(0.5 * e * e / beta if e < beta else e - 0.5 * beta for e in d) / len(d)


@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0])
def test_smooth_l1_by_hand(beta):
    pred, true = rand((4, 2, 4, 3), 3), rand((4, 2, 4, 3), 4)
    d = (pred - true).abs()
    assert (d < beta).any() and (d > beta).any()  # both branches are exercised
    value = smooth_l1(pred, true) if beta == 0.1 else smooth_l1(pred, true, beta=beta)
    assert value.ndim == 0
    assert math.isclose(float(value), smooth_l1_by_hand(pred, true, beta), rel_tol=1e-12)


def test_smooth_l1_is_quadratic_under_beta_and_linear_over():
    true = torch.zeros(1, 1, 1, 2)
    small = torch.tensor([[[[0.05, -0.05]]]])
    large = torch.tensor([[[[0.7, -0.7]]]])
    assert float(smooth_l1(small, true)) == pytest.approx(0.5 * 0.05**2 / 0.1)
    assert float(smooth_l1(large, true)) == pytest.approx(0.7 - 0.05)
    # doubling a big miss doubles its cost (plus a constant) instead of quadrupling it as L2 does:
    # a wrong colour guess is punished less, the point of using it (002)
    assert float(smooth_l1(2 * large, true)) == pytest.approx(1.4 - 0.05)
    assert float(mse(2 * large, true)) == pytest.approx(4 * float(mse(large, true)))
    # and the gradient of a big miss is bounded by 1 / number of values, whatever the size of the miss
    pred = (10 * large).requires_grad_(True)
    smooth_l1(pred, true).backward()
    torch.testing.assert_close(pred.grad, torch.tensor([[[[0.5, -0.5]]]]))


# --------------------------------------------------------------- Gaussian


def test_gaussian_sigma_follows_opencv():
    assert gaussian_sigma(3) == pytest.approx(0.8)
    assert gaussian_sigma(5) == pytest.approx(1.1)
    assert gaussian_sigma(7) == pytest.approx(1.4)


@pytest.mark.parametrize("size", [3, 5])
def test_gaussian_kernel_sums_to_one_and_matches_the_formula(size):
    # blurring a single bright pixel draws the kernel
    x = torch.zeros(1, 1, 11, 11, dtype=torch.float64)
    x[0, 0, 5, 5] = 1.0
    out = gaussian_blur(x, size)
    assert out.shape == x.shape
    half = size // 2
    kernel = out[0, 0, 5 - half:5 + half + 1, 5 - half:5 + half + 1]
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(kernel.sum()) == pytest.approx(1.0, abs=1e-12)
    g = opencv_kernel_1d(size, {3: 0.8, 5: 1.1}[size])
    np.testing.assert_allclose(kernel.numpy(), np.outer(g, g), rtol=1e-12, atol=1e-15)
    # nothing outside the size x size window
    assert float(out.abs().sum() - kernel.abs().sum()) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("size", [3, 5])
def test_gaussian_blur_matches_an_independent_reference_including_borders(size):
    x = rand((2, 3, 9, 7), seed=size)
    out = gaussian_blur(x, size)
    torch.testing.assert_close(out, reference_blur(x, size, {3: 0.8, 5: 1.1}[size]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("size", [3, 5])
def test_gaussian_blur_keeps_a_constant_image_constant(size):
    x = torch.full((2, 2, 8, 6), 0.37)
    x[:, 1] = -0.2
    torch.testing.assert_close(gaussian_blur(x, size), x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [3, 5])
def test_gaussian_blur_preserves_the_sum_away_from_borders(size):
    x = torch.zeros(1, 2, 16, 16, dtype=torch.float64)
    x[:, :, 5:11, 4:12] = rand((1, 2, 6, 8), seed=7)
    out = gaussian_blur(x, size)
    torch.testing.assert_close(out.sum(dim=(2, 3)), x.sum(dim=(2, 3)), rtol=1e-12, atol=1e-12)
    # and it does blur: the peak goes down, the support spreads
    assert out.abs().max() < x.abs().max()
    assert (out != 0).sum() > (x != 0).sum()


def test_gaussian_blur_keeps_dtype_and_treats_channels_separately():
    x = torch.zeros(1, 2, 9, 9, dtype=torch.float32)
    x[0, 0, 4, 4] = 1.0
    out = gaussian_blur(x, 3)
    assert out.dtype == torch.float32
    assert torch.equal(out[0, 1], torch.zeros(9, 9))


# -------------------------------------------------------------- blur loss


def blur_loss_by_hand(pred, true):
    terms = [float(((pred - true) ** 2).mean())]
    for size, sigma in ((3, 0.8), (5, 1.1)):
        terms.append(float(((reference_blur(pred, size, sigma) - reference_blur(true, size, sigma)) ** 2).mean()))
    return sum(terms) / 3


@pytest.mark.parametrize("shape", [(2, 2, 8, 8), (1, 2, 5, 11)])
def test_blur_loss_is_the_mean_of_the_three_distances(shape):
    pred, true = rand(shape, 11), rand(shape, 12)
    value = blur_loss(pred, true)
    assert value.ndim == 0
    assert math.isclose(float(value), blur_loss_by_hand(pred, true), rel_tol=1e-10)


def test_blur_loss_with_own_conv2d():
    # the same, with a kernel built from the formula and run through conv2d
    pred, true = rand((1, 2, 10, 10), 13), rand((1, 2, 10, 10), 14)
    terms = [((pred - true) ** 2).mean()]
    for size, sigma in ((3, 0.8), (5, 1.1)):
        g = torch.tensor(opencv_kernel_1d(size, sigma))
        k = (g[:, None] * g[None, :]).expand(2, 1, size, size)
        p = size // 2

        def blur(x):
            return F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), k, groups=2)

        terms.append(((blur(pred) - blur(true)) ** 2).mean())
    torch.testing.assert_close(blur_loss(pred, true), torch.stack(terms).mean(), rtol=1e-12, atol=0)


def test_blur_loss_sizes_parameter():
    pred, true = rand((1, 2, 8, 8), 15), rand((1, 2, 8, 8), 16)
    torch.testing.assert_close(blur_loss(pred, true, sizes=()), mse(pred, true))
    expected = (mse(pred, true) + mse(gaussian_blur(pred, 3), gaussian_blur(true, 3))) / 2
    torch.testing.assert_close(blur_loss(pred, true, sizes=(3,)), expected)


def test_blur_loss_is_zero_for_identical_inputs():
    x = rand((2, 2, 8, 8), 17)
    assert float(blur_loss(x, x.clone())) == 0.0


def edge(position: int, h: int = 12, w: int = 12) -> torch.Tensor:
    x = torch.full((1, 2, h, w), -0.5, dtype=torch.float64)
    x[..., position:] = 0.5
    return x


def test_blur_loss_forgives_a_misplaced_edge_more_than_mse():
    true = edge(6)
    shifted = edge(7)  # the right colours, one pixel off at the boundary
    assert float(blur_loss(shifted, true)) < 0.8 * float(mse(shifted, true))
    # while a wrong colour everywhere costs the same under both: blurring a constant error changes nothing
    wrong_colour = true + 0.3
    assert float(blur_loss(wrong_colour, true)) == pytest.approx(float(mse(wrong_colour, true)), rel=1e-9)


def test_blur_loss_of_a_shifted_edge_grows_with_the_shift():
    true = edge(4)
    values = [float(blur_loss(edge(4 + s), true)) for s in (1, 2, 3)]
    assert values[0] < values[1] < values[2]


# ------------------------------------------------------ soft cross-entropy


def soft_ce_by_hand(logits, target, weights=None):
    n, q, h, w = logits.shape
    total = 0.0
    for i in range(n):
        for y in range(h):
            for x in range(w):
                z = logits[i, :, y, x].double()
                log_p = z - torch.logsumexp(z, dim=0)
                value = -float((target[i, :, y, x].double() * log_p).sum())
                total += value * (float(weights[i, y, x]) if weights is not None else 1.0)
    return total / (n * h * w)


def soft_targets(shape, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(shape, generator=g)
    t[t < 0.7] = 0  # sparse, like a 5-nearest-bin soft encoding
    t[:, 0] += 1e-3
    return t / t.sum(dim=1, keepdim=True)


def test_soft_cross_entropy_by_hand():
    logits = rand((2, 7, 3, 2), 21, scale=3, dtype=torch.float32)
    target = soft_targets((2, 7, 3, 2), 22)
    value = soft_cross_entropy(logits, target)
    assert value.ndim == 0
    assert float(value) == pytest.approx(soft_ce_by_hand(logits, target), rel=1e-5)


def test_soft_cross_entropy_on_313_bins():
    logits = rand((1, 313, 2, 2), 23, scale=2, dtype=torch.float32)
    target = soft_targets((1, 313, 2, 2), 24)
    assert float(soft_cross_entropy(logits, target)) == pytest.approx(soft_ce_by_hand(logits, target), rel=1e-5)


def test_soft_cross_entropy_with_one_hot_targets_is_standard_cross_entropy():
    logits = rand((3, 313, 4, 5), 25, scale=4, dtype=torch.float32)
    labels = torch.randint(0, 313, (3, 4, 5), generator=torch.Generator().manual_seed(26))
    one_hot = F.one_hot(labels, 313).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(soft_cross_entropy(logits, one_hot), F.cross_entropy(logits, labels),
                               rtol=1e-5, atol=1e-6)


def test_soft_cross_entropy_weights_multiply_each_pixel():
    logits = rand((2, 9, 3, 3), 27, scale=2, dtype=torch.float32)
    target = soft_targets((2, 9, 3, 3), 28)
    weights = rand((2, 3, 3), 29, dtype=torch.float32).abs() * 3
    value = soft_cross_entropy(logits, target, weights)
    assert float(value) == pytest.approx(soft_ce_by_hand(logits, target, weights), rel=1e-5)
    # weight 1 everywhere is no weighting; weight 2 doubles the loss
    plain = soft_cross_entropy(logits, target)
    torch.testing.assert_close(soft_cross_entropy(logits, target, torch.ones(2, 3, 3)), plain)
    torch.testing.assert_close(soft_cross_entropy(logits, target, torch.full((2, 3, 3), 2.0)), 2 * plain)
    # zero weight on a pixel removes exactly that pixel's contribution
    w = torch.ones(2, 3, 3)
    w[1, 2, 0] = 0
    single = soft_ce_by_hand(logits[1:, :, 2:, :1], target[1:, :, 2:, :1])
    assert float(soft_cross_entropy(logits, target, w)) == pytest.approx(float(plain) - single / 18, rel=1e-5)


def test_soft_cross_entropy_is_smallest_when_the_prediction_matches_the_target():
    target = soft_targets((1, 5, 2, 2), 30)
    perfect = target.clamp_min(1e-12).log()
    entropy = -(target * perfect).sum(dim=1).mean()
    assert float(soft_cross_entropy(perfect, target)) == pytest.approx(float(entropy), rel=1e-4)
    other = rand((1, 5, 2, 2), 31, dtype=torch.float32)
    assert float(soft_cross_entropy(other, target)) > float(entropy)


def test_soft_cross_entropy_works_in_bfloat16_and_returns_float32():
    logits = rand((1, 313, 2, 2), 32, scale=3, dtype=torch.float32)
    target = soft_targets((1, 313, 2, 2), 33)
    value = soft_cross_entropy(logits.bfloat16(), target)
    assert value.dtype == torch.float32
    assert float(value) == pytest.approx(float(soft_cross_entropy(logits.bfloat16().float(), target)), rel=1e-6)


def test_soft_cross_entropy_shape_mismatches_are_value_errors():
    logits = torch.zeros(2, 313, 4, 4)
    with pytest.raises(ValueError, match="shape"):
        soft_cross_entropy(logits, torch.zeros(2, 313, 4, 5))
    with pytest.raises(ValueError, match="shape"):
        soft_cross_entropy(logits, torch.zeros(2, 312, 4, 4))
    with pytest.raises(ValueError, match=r"\(N,H,W\)"):
        soft_cross_entropy(logits, torch.full((2, 313, 4, 4), 1 / 313), torch.ones(2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\(2, 4, 4\)"):
        soft_cross_entropy(logits, torch.full((2, 313, 4, 4), 1 / 313), torch.ones(4, 4))


@pytest.mark.parametrize("fn", [mse, smooth_l1, blur_loss])
def test_regression_losses_reject_mismatched_shapes(fn):
    with pytest.raises(ValueError, match=r"\(N,C,H,W\)"):
        fn(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 9))
    with pytest.raises(ValueError, match=r"\(N,C,H,W\)"):
        fn(torch.zeros(2, 8, 8), torch.zeros(2, 8, 8))


# ------------------------------------------------------------- by name


def test_regression_loss_by_name():
    assert regression_loss("mse") is mse
    assert regression_loss("smooth_l1") is smooth_l1
    assert regression_loss("blur") is blur_loss
    assert set(LOSSES) == {"mse", "smooth_l1", "blur"}


def test_unknown_regression_loss_lists_the_choices():
    with pytest.raises(ValueError) as info:
        regression_loss("nope")
    message = str(info.value)
    assert "'nope'" in message
    for name in ("mse", "smooth_l1", "blur"):
        assert name in message


# ------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", ["mse", "smooth_l1", "blur"])
def test_regression_losses_pass_gradients(name):
    true = rand((2, 2, 8, 8), 40, dtype=torch.float32)
    pred = rand((2, 2, 8, 8), 41, dtype=torch.float32).requires_grad_(True)
    loss = regression_loss(name)(pred, true)
    loss.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    assert pred.grad.abs().sum() > 0
    # a small step against the gradient lowers the loss
    with torch.no_grad():
        stepped = pred - 1e-2 * pred.grad / pred.grad.norm()
        assert float(regression_loss(name)(stepped, true)) < float(loss)


def test_mse_gradient_by_hand():
    true = rand((1, 2, 3, 3), 42)
    pred = rand((1, 2, 3, 3), 43).requires_grad_(True)
    mse(pred, true).backward()
    torch.testing.assert_close(pred.grad, 2 * (pred.detach() - true) / pred.numel())


def test_soft_cross_entropy_gradient_is_softmax_minus_target():
    logits = rand((2, 313, 2, 3), 44, scale=2).requires_grad_(True)
    target = soft_targets((2, 313, 2, 3), 45).double()
    soft_cross_entropy(logits, target).backward()
    expected = (torch.softmax(logits.detach(), dim=1) - target) / (2 * 2 * 3)
    # float32 inside the loss
    torch.testing.assert_close(logits.grad, expected, rtol=1e-4, atol=1e-8)


def test_weighted_soft_cross_entropy_has_no_gradient_where_the_weight_is_zero():
    logits = rand((1, 313, 2, 2), 46, scale=2, dtype=torch.float32).requires_grad_(True)
    target = soft_targets((1, 313, 2, 2), 47)
    w = torch.ones(1, 2, 2)
    w[0, 0, 1] = 0
    soft_cross_entropy(logits, target, w).backward()
    assert torch.equal(logits.grad[0, :, 0, 1], torch.zeros(313))
    assert logits.grad[0, :, 1, 1].abs().sum() > 0


def test_losses_module_exports():
    assert losses.uv_loss is losses.mse


def _sparse_case(seed=0, n=2, h=3, w=4, k=5):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 313, h, w, generator=g)
    bins = torch.stack([torch.randperm(313, generator=g)[:k] for _ in range(n * h * w)])
    bins = bins.reshape(n, h, w, k).permute(0, 3, 1, 2).contiguous()
    target = torch.rand(n, k, h, w, generator=g)
    target = target / target.sum(dim=1, keepdim=True)
    dense = torch.zeros(n, 313, h, w).scatter_(1, bins, target)
    return logits, bins, target, dense


def test_sparse_soft_cross_entropy_equals_the_dense_one_and_its_gradient():
    logits, bins, target, dense = _sparse_case()
    weights = torch.rand(2, 3, 4, generator=torch.Generator().manual_seed(1))
    for w in (None, weights):
        a = logits.clone().requires_grad_()
        b = logits.clone().requires_grad_()
        sparse = soft_cross_entropy_sparse(a, bins, target, w)
        full = soft_cross_entropy(b, dense, w)
        torch.testing.assert_close(sparse, full)
        sparse.backward()
        full.backward()
        torch.testing.assert_close(a.grad, b.grad)
    # int16 indices (how a training loop stores a data set's targets) give the same loss
    torch.testing.assert_close(soft_cross_entropy_sparse(logits, bins.short(), target), soft_cross_entropy(logits, dense))


def test_sparse_soft_cross_entropy_on_bfloat16_logits_is_float32():
    logits, bins, target, dense = _sparse_case(seed=2)
    value = soft_cross_entropy_sparse(logits.bfloat16(), bins, target)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, soft_cross_entropy(logits.bfloat16().float(), dense))


def test_sparse_soft_cross_entropy_shape_mismatches_are_value_errors():
    logits, bins, target, _ = _sparse_case()
    with pytest.raises(ValueError, match=r"\(N,k,H,W\) with the same"):
        soft_cross_entropy_sparse(logits, bins[:, :4], target)
    with pytest.raises(ValueError, match="same N, H, W"):
        soft_cross_entropy_sparse(logits[:, :, :2], bins, target)
    with pytest.raises(ValueError, match=r"weights must have shape \(N,H,W\) = \(2, 3, 4\)"):
        soft_cross_entropy_sparse(logits, bins, target, torch.ones(2, 1, 3, 4))
