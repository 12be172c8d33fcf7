"""Training losses: what each colorizer is asked to minimise.

Regression losses compare predicted and true chroma, (N,2,H,W) tensors in the
same units (normalised ab for colorlab's networks, U and V for 000's). The
classification loss compares logits over the 313 bins with soft targets.
All return a 0-d tensor, the mean over pixels, and are differentiable.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F


def _check_pair(pred: torch.Tensor, target: torch.Tensor, name: str) -> None:
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(
            f"{name}: prediction and target must both have shape (N,C,H,W), got {tuple(pred.shape)} and {tuple(target.shape)}."
        )


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over pixels and channels.

    On U and V this is exactly the UV loss of Zhu et al. (000): the sum of squared
    U and V errors divided by 2 x W x H (averaged over the batch).
    """
    _check_pair(pred, target, "mse")
    return F.mse_loss(pred, target)


uv_loss = mse  # 000's name for the same formula


def smooth_l1(pred: torch.Tensor, target: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """Huber-like loss (002): squared for errors below ``beta``, absolute above.

    Its pull (the gradient) is capped at 1 beyond ``beta``, so one far-off pixel pulls
    no harder than a moderately wrong one; the loss itself is *larger* than L2's for
    errors below about 1 - beta/2 (0.95 of normalised ab, 104 ab units: nearly every
    error a colorizer makes). 002 found its results less desaturated than MSE's; notebook
    03 tests whether that holds here. ``beta`` is in the units of the targets; 0.1 of
    normalised ab is 11 ab units.
    """
    _check_pair(pred, target, "smooth_l1")
    return F.smooth_l1_loss(pred, target, beta=beta)


def gaussian_sigma(size: int) -> float:
    """The width OpenCV gives a Gaussian kernel of ``size`` taps when none is set."""
    return 0.3 * ((size - 1) * 0.5 - 1) + 0.8


@functools.lru_cache(maxsize=None)
def gaussian_kernel(size: int, channels: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    """The weights of a depthwise ``size`` x ``size`` Gaussian blur: (channels, 1, size, size), ``dtype`` on ``device``.

    Each channel's kernel sums to 1, sigma :func:`gaussian_sigma` of ``size``; for
    ``F.conv2d(x, kernel, groups=channels)``. ``device`` is a string ("cpu", "cuda:0") so that
    the kernel is cached; the cached tensor is shared, so do not change it in place.
    """
    sigma = gaussian_sigma(size)
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).to(dtype=dtype, device=device)
    return kernel.expand(channels, 1, size, size).contiguous()


def gaussian_blur(x: torch.Tensor, size: int) -> torch.Tensor:
    """Blur each channel of (N,C,H,W) with a ``size`` x ``size`` Gaussian (reflected borders)."""
    kernel = gaussian_kernel(size, x.shape[1], x.dtype, str(x.device))
    pad = size // 2
    return F.conv2d(F.pad(x, (pad, pad, pad, pad), mode="reflect"), kernel, groups=x.shape[1])


def blur_loss(pred: torch.Tensor, target: torch.Tensor, sizes: tuple[int, ...] = (3, 5)) -> torch.Tensor:
    """Dahl's loss (004): the mean of the plain squared distance and the distances
    after blurring both images with 3 and 5 pixel Gaussian kernels.

    The blurred terms reward getting the colour of a region right even where the
    exact boundary is off, which Dahl found helps training along.
    """
    _check_pair(pred, target, "blur_loss")
    terms = [F.mse_loss(pred, target)]
    for size in sizes:
        terms.append(F.mse_loss(gaussian_blur(pred, size), gaussian_blur(target, size)))
    return torch.stack(terms).mean()


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy between predicted logits and a soft target distribution (Zhang et al.).

    Parameters
    ----------
    logits : (N,313,H,W) raw scores
    target : (N,313,H,W) distributions (each pixel sums to 1), e.g. from
        :func:`colorlab.quantize.soft_encode`
    weights : optional (N,H,W) per-pixel weights (class rebalancing); their
        prior-weighted mean is 1, so the loss keeps its scale.

    Returns
    -------
    0-d tensor: the (weighted) mean over pixels of -sum_q target_q log softmax(logits)_q.
    """
    _check_pair(logits, target, "soft_cross_entropy")
    # log_softmax in float32: under bf16 autocast the logits lose too much precision
    per_pixel = -(target.float() * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
    if weights is not None:
        if weights.shape != per_pixel.shape:
            raise ValueError(
                f"soft_cross_entropy: weights must have shape (N,H,W) = {tuple(per_pixel.shape)}, got {tuple(weights.shape)}."
            )
        per_pixel = per_pixel * weights
    return per_pixel.mean()


def soft_cross_entropy_sparse(logits: torch.Tensor, bins: torch.Tensor, target: torch.Tensor,
                              weights: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`soft_cross_entropy` with the target given by its non-zero entries only.

    Parameters
    ----------
    logits : (N,313,H,W) raw scores
    bins : (N,k,H,W) integer bin indices, e.g. from :func:`colorlab.quantize.soft_encode_sparse`
    target : (N,k,H,W) the target probability of each of those bins (each pixel sums to 1)
    weights : optional (N,H,W) per-pixel weights, as for :func:`soft_cross_entropy`

    Returns
    -------
    0-d float32 tensor, equal to ``soft_cross_entropy(logits, dense)`` where ``dense`` is
    ``target`` scattered into 313 zeros at ``bins``, at the cost of a gather of k values
    per pixel instead of a product with 313.
    """
    if logits.ndim != 4 or bins.shape != target.shape or bins.ndim != 4 or bins.shape[0] != logits.shape[0] \
            or bins.shape[2:] != logits.shape[2:]:
        raise ValueError(
            f"soft_cross_entropy_sparse: logits must be (N,313,H,W) and bins and target (N,k,H,W) with the same "
            f"N, H, W; got {tuple(logits.shape)}, {tuple(bins.shape)} and {tuple(target.shape)}."
        )
    log_p = F.log_softmax(logits.float(), dim=1)  # float32, as in soft_cross_entropy
    per_pixel = -(log_p.gather(1, bins.long()) * target.float()).sum(dim=1)
    if weights is not None:
        if weights.shape != per_pixel.shape:
            raise ValueError(
                f"soft_cross_entropy_sparse: weights must have shape (N,H,W) = {tuple(per_pixel.shape)}, "
                f"got {tuple(weights.shape)}."
            )
        per_pixel = per_pixel * weights
    return per_pixel.mean()


LOSSES = {"mse": mse, "smooth_l1": smooth_l1, "blur": blur_loss}


def regression_loss(name: str):
    """The regression loss called ``name``: "mse" (the UV/L2 loss), "smooth_l1" or "blur"."""
    if name not in LOSSES:
        raise ValueError(f"unknown regression loss {name!r}; choose one of {', '.join(LOSSES)}.")
    return LOSSES[name]


assert math.isclose(gaussian_sigma(3), 0.8) and math.isclose(gaussian_sigma(5), 1.1)
