"""How good is a colorization? The metrics of the course's papers.

=================  =========================  ==============================================  ==============
function           input                      what it measures                                better
=================  =========================  ==============================================  ==============
uv_loss            RGB in [0, 1]              squared U, V error / (2 W H), Zhu et al. (000)   lower
uv_loss_yuv        U, V (BT.601)              the same, for models that predict U and V        lower
ab_rmse            Lab a, b                   RMS of the per-pixel ab distance                 lower
auc                Lab a, b                   area under the "within t" curve, Zhang et al.    higher, max 1
auc_curve          Lab a, b                   that curve itself, for plots
rebalanced_auc     Lab a, b                   AuC where every colour class counts equally      higher, max 1
colorfulness       RGB in [0, 1]              Hasler and Suesstrunk (2003), on a 0-255 scale   closer to truth
psnr               RGB in [0, data_range]     peak signal-to-noise ratio in dB                 higher
=================  =========================  ==============================================  ==============

Every measure of the course's results table, one value per image, comes from
:func:`colorlab.results.image_scores`, which calls these.

Conventions shared by every function:

* Images are float tensors (or NumPy arrays) of shape (N,C,H,W), or (C,H,W) for
  a single image, on any device; float32 and float64 both work and the result
  has the (promoted) dtype of the inputs.
* Lab a and b are *unnormalised* (about +-110, as :func:`colorlab.color.rgb_to_lab`
  gives them), not the [-1, 1] values a network sees: use
  :func:`colorlab.color.denormalize_ab` first.
* Every metric is computed per image. ``reduction="mean"`` returns the mean over
  the images as a 0-d tensor (each image counts equally, whatever its content);
  ``reduction="none"`` returns one value per image, shape (N,). For a single
  (C,H,W) image both give a 0-d tensor.
* Bad input (wrong shape, uint8, values out of range, NaN, an empty batch,
  mismatched prediction and target) raises ``ValueError`` saying what was
  received and what is expected.
"""

from __future__ import annotations

import numbers

import torch

from ._validate import as_tensor, channels_image, check_finite, check_range, describe, rgb_image, same_shape
from .color import rgb_to_yuv

__all__ = [
    "uv_loss",
    "uv_loss_yuv",
    "ab_rmse",
    "auc",
    "auc_curve",
    "pixel_auc",
    "rebalanced_auc",
    "colorfulness",
    "psnr",
]

AB_LAYOUT = "unnormalised Lab a and b, about +-110; from a Lab tensor take lab[:, 1:]"
UV_LAYOUT = "BT.601 U and V; from YUV take yuv[:, 1:]"


# ----------------------------------------------------------------- helpers

def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in ("mean", "none"):
        raise ValueError(f"{name}: reduction must be 'mean' or 'none', got {reduction!r}.")


def _reduce(values: torch.Tensor, reduction: str, single: bool) -> torch.Tensor:
    """Per-image values (N,) -> 0-d mean, (N,), or 0-d for an unbatched input."""
    if reduction == "mean":
        return values.mean()
    return values[0] if single else values


def _pair(pred, true, name: str, check) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Validate prediction and target alike; return both batched, in one dtype, and the unbatched flag."""
    p, single_p = check(pred, f"{name}: prediction")
    t, single_t = check(true, f"{name}: target")
    # Compare the shapes as the caller passed them, so the message shows what they typed.
    same_shape(p[0] if single_p else p, t[0] if single_t else t, f"{name}: prediction and target")
    if p.device != t.device:
        raise ValueError(f"{name}: prediction is on {p.device} but target is on {t.device}; move both to one device.")
    dtype = torch.promote_types(p.dtype, t.dtype)
    return p.to(dtype), t.to(dtype), single_p


def _ab(x, name):
    return channels_image(x, 2, name, AB_LAYOUT)


def _uv(x, name):
    return channels_image(x, 2, name, UV_LAYOUT)


def _check_threshold(max_threshold, name: str) -> int:
    ok = isinstance(max_threshold, numbers.Real) and not isinstance(max_threshold, bool)
    if not ok or max_threshold != int(max_threshold) or max_threshold < 1:
        raise ValueError(
            f"{name}: max_threshold must be a positive whole number (thresholds run 0, 1, ..., max_threshold), "
            f"got {max_threshold!r}."
        )
    return int(max_threshold)


def _ab_distance(pred_ab, true_ab, name: str) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Per-pixel L2 ab distance (N,H,W); also the batched target (for the bins) and the unbatched flag."""
    p, t, single = _pair(pred_ab, true_ab, name, _ab)
    diff = p - t
    return torch.hypot(diff[:, 0], diff[:, 1]), t, single


# -------------------------------------------------------------- UV loss (000)

def uv_loss_yuv(pred_uv, true_uv, reduction: str = "mean") -> torch.Tensor:
    """The UV loss of Zhu et al. (000) on U and V predicted directly.

    Parameters
    ----------
    pred_uv, true_uv : float tensor, (N,2,H,W) or (2,H,W)
        BT.601 U and V (U within +-0.436, V within +-0.615, as
        ``colorlab.color.rgb_to_yuv(rgb)[:, 1:]``). Any finite values are
        accepted, so a model may predict outside the gamut. Same shape.
    reduction : {'mean', 'none'}

    Returns
    -------
    For each image ``sum((pred - true)**2) / (2 * W * H)``, the sum running over
    both channels and every pixel, i.e. the mean squared error over the 2 W H
    values. A 0-d tensor for 'mean', shape (N,) for 'none'.

    Differentiable, so it doubles as a training loss. 000's Table 1 (gray output
    0.005163, CNNs about 0.0038) is in these unnormalised units; a model that
    predicts U and V rescaled to [-1, 1] must be scaled back before comparing.
    """
    _check_reduction(reduction, "uv_loss_yuv")
    p, t, single = _pair(pred_uv, true_uv, "uv_loss_yuv", _uv)
    per_image = (p - t).square().mean(dim=(1, 2, 3))  # the mean over 2*H*W values is the paper's sum / (2WH)
    return _reduce(per_image, reduction, single)


def uv_loss(pred_rgb, true_rgb, reduction: str = "mean") -> torch.Tensor:
    """The UV loss of Zhu et al. (000) between two RGB images.

    Parameters
    ----------
    pred_rgb, true_rgb : float tensor, (N,3,H,W) or (3,H,W), values in [0, 1]
        Same shape. Both are converted to YUV (BT.601) with
        :func:`colorlab.color.rgb_to_yuv`; Y is ignored.
    reduction : {'mean', 'none'}

    Returns
    -------
    Per image the sum of squared U and V errors divided by 2 W H (see
    :func:`uv_loss_yuv`); 0-d for 'mean', (N,) for 'none'. Differentiable with
    respect to both inputs.
    """
    _check_reduction(reduction, "uv_loss")
    p, t, single = _pair(pred_rgb, true_rgb, "uv_loss", rgb_image)
    per_image = uv_loss_yuv(rgb_to_yuv(p)[:, 1:], rgb_to_yuv(t)[:, 1:], reduction="none")
    return _reduce(per_image, reduction, single)


# ------------------------------------------------------------------ ab RMSE

def ab_rmse(pred_ab, true_ab, reduction: str = "mean") -> torch.Tensor:
    """Root mean squared ab distance, per image.

    Parameters
    ----------
    pred_ab, true_ab : float tensor, (N,2,H,W) or (2,H,W)
        Unnormalised Lab a and b. Same shape.
    reduction : {'mean', 'none'}

    Returns
    -------
    For each image ``sqrt(mean over pixels of (da**2 + db**2))``: the RMS of the
    per-pixel Euclidean ab distance (the ab part of Delta E 1976), in Lab units.
    Note the convention: this is sqrt(2) times the RMSE taken over the 2 H W
    single channel values. 'mean' averages the per-image RMSEs (it does not pool
    all pixels of the batch under one root). 0-d for 'mean', (N,) for 'none'.

    A metric, not a loss: the square root has an infinite gradient at a perfect
    prediction. Train on a mean squared error instead.
    """
    _check_reduction(reduction, "ab_rmse")
    p, t, single = _pair(pred_ab, true_ab, "ab_rmse", _ab)
    per_image = (p - t).square().sum(dim=1).mean(dim=(1, 2)).sqrt()
    return _reduce(per_image, reduction, single)


# --------------------------------------------------------------- AuC (Zhang)

def _weights_for(weights, distance: torch.Tensor, single: bool, name: str) -> torch.Tensor:
    w = as_tensor(weights, f"{name}: weights")
    expected = tuple(distance.shape[1:]) if single else tuple(distance.shape)
    if tuple(w.shape) != expected:
        layout = "(H,W) for a single image" if single else "(N,H,W), one weight per pixel"
        raise ValueError(f"{name}: weights must have shape {expected} {layout}, got {describe(w)}.")
    if w.device != distance.device:
        raise ValueError(f"{name}: weights are on {w.device} but the images are on {distance.device}.")
    check_finite(w, f"{name}: weights")
    w = w.to(distance.dtype).reshape(distance.shape)
    if bool((w < 0).any()):
        raise ValueError(f"{name}: weights must be non-negative, got a minimum of {float(w.min()):.4g}.")
    empty = (w.sum(dim=(1, 2)) <= 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"{name}: the weights of image(s) {empty[:10]} sum to 0; each image needs a positive total.")
    return w


def _curve(distance: torch.Tensor, weights: torch.Tensor | None, max_threshold: int) -> torch.Tensor:
    """Weighted fraction of pixels with distance <= t for t = 0..max_threshold; shape (N, max_threshold + 1).

    A pixel at distance d is within every whole threshold t >= ceil(d), so one
    histogram of ceil(d) (with everything beyond the last threshold in an overflow
    bin) and a cumulative sum give the whole curve: O(pixels) time and
    O(N * thresholds) extra memory, however large the images.
    """
    n = distance.shape[0]
    first = torch.ceil(distance).clamp_(max=max_threshold + 1).long().reshape(n, -1)
    w = torch.ones_like(distance) if weights is None else weights
    hist = torch.zeros(n, max_threshold + 2, dtype=distance.dtype, device=distance.device)
    hist.scatter_add_(1, first, w.reshape(n, -1))
    return hist.cumsum(dim=1)[:, : max_threshold + 1] / hist.sum(dim=1, keepdim=True)


def auc_curve(pred_ab, true_ab, max_threshold: int = 150, weights=None, reduction: str = "mean"):
    """The curve behind :func:`auc`: the fraction of pixels within each ab distance threshold.

    Parameters
    ----------
    pred_ab, true_ab : float tensor, (N,2,H,W) or (2,H,W)
        Unnormalised Lab a and b. Same shape.
    max_threshold : int
        Thresholds are 0, 1, ..., max_threshold (Zhang et al. use 150).
    weights : float tensor (N,H,W), or (H,W) for a single image, optional
        Non-negative per-pixel weights; each image's weights must have a positive
        sum. Default: every pixel counts the same.
    reduction : {'mean', 'none'}

    Returns
    -------
    thresholds : (T+1,) tensor 0., 1., ..., T in the input's dtype and device.
    fraction : for each threshold t the weighted fraction of pixels whose L2 ab
        error is <= t (a pixel exactly at distance t counts as within), in [0, 1]
        and non-decreasing. Shape (N, T+1) for 'none' with a batch, (T+1,) for
        'mean' (the mean of the per-image curves) or a single image.
    """
    _check_reduction(reduction, "auc_curve")
    max_threshold = _check_threshold(max_threshold, "auc_curve")
    distance, _, single = _ab_distance(pred_ab, true_ab, "auc_curve")
    w = None if weights is None else _weights_for(weights, distance, single, "auc_curve")
    fraction = _curve(distance, w, max_threshold)
    thresholds = torch.arange(max_threshold + 1, dtype=distance.dtype, device=distance.device)
    if reduction == "mean":
        return thresholds, fraction.mean(dim=0)
    return thresholds, (fraction[0] if single else fraction)


def _auc_from_distance(distance, weights, max_threshold: int) -> torch.Tensor:
    fraction = _curve(distance, weights, max_threshold)
    # Trapezoid rule with step 1 over [0, T], divided by T, so a perfect prediction scores exactly 1.
    return torch.trapezoid(fraction, dx=1.0, dim=1) / max_threshold


def pixel_auc(distance: torch.Tensor, max_threshold: int = 150) -> torch.Tensor:
    """Each pixel's share of the AuC: the AuC of a set of pixels is the mean of these over the set.

    ``distance`` is any float tensor of per-pixel ab errors (>= 0, Lab units). A pixel at distance d
    is within every whole threshold t >= ceil(d), so its curve is a step at ceil(d) and its area by
    the trapezoid rule over [0, T], divided by T, is 1 for d = 0, (T + 0.5 - ceil(d)) / T for
    0 < d <= T, and 0 beyond T (:func:`auc` gives the same). Same shape and dtype.
    """
    steps = torch.ceil(distance)
    share = (max_threshold + 0.5 - steps) / max_threshold
    return torch.where(steps == 0, torch.ones_like(share), torch.where(steps > max_threshold,
                                                                      torch.zeros_like(share), share))


def auc(pred_ab, true_ab, max_threshold: int = 150, weights=None, reduction: str = "mean") -> torch.Tensor:
    """Zhang et al.'s raw accuracy AuC: the area under the "ab error within t" curve.

    Parameters
    ----------
    pred_ab, true_ab : float tensor, (N,2,H,W) or (2,H,W)
        Unnormalised Lab a and b. Same shape.
    max_threshold : int
        The curve runs over the whole thresholds 0, 1, ..., max_threshold (150).
    weights : float tensor (N,H,W), or (H,W) for a single image, optional
        Non-negative per-pixel weights (see :func:`auc_curve`).
    reduction : {'mean', 'none'}

    Returns
    -------
    Per image, in [0, 1]: the trapezoid-rule area under the curve of
    :func:`auc_curve` divided by max_threshold. A perfect prediction gives 1
    (distance 0 is within every threshold); errors beyond max_threshold give 0.
    For a pixel at distance d with 0 < d <= T the contribution is
    (T + 0.5 - ceil(d)) / T: (T - d) / T when d is halfway between whole
    numbers, and (T - d + 0.5) / T when d is a whole number, since the curve
    steps up at t = d itself. 0-d for 'mean' (each image counts equally), (N,)
    for 'none'. Not differentiable (a step function of the error).
    """
    _check_reduction(reduction, "auc")
    max_threshold = _check_threshold(max_threshold, "auc")
    distance, _, single = _ab_distance(pred_ab, true_ab, "auc")
    w = None if weights is None else _weights_for(weights, distance, single, "auc")
    return _reduce(_auc_from_distance(distance, w, max_threshold), reduction, single)


def rebalanced_auc(pred_ab, true_ab, prior=None, max_threshold: int = 150, reduction: str = "mean") -> torch.Tensor:
    """Zhang et al.'s class-rebalanced AuC: every ground-truth colour class counts equally.

    Each pixel is weighted by ``1 / prior[bin]``, where ``bin`` is the nearest of
    the 313 ab bins to its *ground-truth* colour
    (:func:`colorlab.quantize.encode_hard` on ``true_ab``), not to the predicted
    one; then :func:`auc` is taken with those weights. Rare colours (saturated
    reds, blues) thus count as much as the common desaturated ones, which a
    model that paints everything brownish scores well on.

    Parameters
    ----------
    pred_ab, true_ab : float tensor, (N,2,H,W) or (2,H,W)
        Unnormalised Lab a and b. Same shape.
    prior : float tensor (313,), optional
        The probability (or count) of each bin, e.g. measured on the training
        set; its scale does not matter. Every bin that occurs in ``true_ab`` must
        have a positive prior, otherwise ``ValueError`` (a zero prior would give
        an infinite weight; smooth the prior, or pass None).
        None: the empirical bin frequencies of each image's own ground truth, so
        within each image every colour class present gets the same total weight
        and the value of an image does not depend on the rest of the batch. For
        a data-set-wide rebalancing as in Zhang's tables, pass the data set's prior.
    max_threshold : int
        As in :func:`auc` (150).
    reduction : {'mean', 'none'}

    Returns
    -------
    Per image in [0, 1]; 0-d for 'mean', (N,) for 'none'.
    """
    # Imported here so the other metrics work without quantize (only this one needs the bins).
    from .quantize import NUM_BINS, encode_hard

    _check_reduction(reduction, "rebalanced_auc")
    max_threshold = _check_threshold(max_threshold, "rebalanced_auc")
    distance, t, single = _ab_distance(pred_ab, true_ab, "rebalanced_auc")
    bins = encode_hard(t).to(distance.device)  # (N,H,W)
    n = bins.shape[0]
    flat = bins.reshape(n, -1)
    if prior is None:
        counts = torch.zeros(n, NUM_BINS, dtype=distance.dtype, device=distance.device)
        counts.scatter_add_(1, flat, torch.ones_like(flat, dtype=distance.dtype))
        p = counts.gather(1, flat)  # never 0: every pixel counts its own bin
        weights = (1.0 / p).reshape(distance.shape)
    else:
        prior = as_tensor(prior, "rebalanced_auc: prior")
        if tuple(prior.shape) != (NUM_BINS,):
            raise ValueError(
                f"rebalanced_auc: prior must have shape ({NUM_BINS},), one value per ab bin, got {describe(prior)}."
            )
        check_finite(prior, "rebalanced_auc: prior")
        # A smoothed prior reaches 1e-62 and below, under float32's range: take its log in float64 (313
        # numbers, on the CPU) and weight by exp(log p_rarest - log p), the inverse prior scaled per image
        # into (0, 1]. The scale cancels: the AuC of an image normalises by its total weight.
        prior64 = prior.detach().to(device="cpu", dtype=torch.float64)
        if bool((prior64 < 0).any()):
            raise ValueError(f"rebalanced_auc: prior must be non-negative, got a minimum of {float(prior64.min()):.4g}.")
        log_prior = torch.log(prior64).to(dtype=distance.dtype, device=distance.device)  # -inf where 0
        log_p = log_prior[flat]
        if bool(torch.isinf(log_p).any()):
            missing = torch.unique(flat[torch.isinf(log_p)]).tolist()
            raise ValueError(
                f"rebalanced_auc: the ground truth contains colours in bins {missing[:10]}"
                f"{' ...' if len(missing) > 10 else ''} whose prior is 0, which would weight them infinitely. "
                "Expected a prior that is positive on every bin the images use: smooth it (e.g. mix it with a "
                "uniform distribution, as Zhang does) or pass prior=None for the images' own bin frequencies."
            )
        weights = torch.exp(log_p.min(dim=1, keepdim=True).values - log_p).reshape(distance.shape)
    return _reduce(_auc_from_distance(distance, weights, max_threshold), reduction, single)


# ------------------------------------------------------------ colorfulness

def colorfulness(rgb, reduction: str = "mean") -> torch.Tensor:
    """Colourfulness of Hasler and Suesstrunk (2003), per image.

    Parameters
    ----------
    rgb : float tensor, (N,3,H,W) or (3,H,W), values in [0, 1]
        Scaled to 0-255 internally, the scale the paper's numbers are on.
    reduction : {'mean', 'none'}

    Returns
    -------
    With the signed opponent channels rg = R - G and yb = (R + G) / 2 - B on
    0-255 values: ``sqrt(std_rg**2 + std_yb**2) + 0.3 * sqrt(mean_rg**2 + mean_yb**2)``,
    std being the population standard deviation over the image's pixels
    (ddof = 0, as ``numpy.std``). 0 for any gray image; a uniform pure red
    gives 0.3 * sqrt(255**2 + 127.5**2) = 85.53. 0-d for 'mean', (N,) for 'none'.
    """
    _check_reduction(reduction, "colorfulness")
    x, single = rgb_image(rgb, "colorfulness input")
    x = x * 255.0
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    std_rg, mean_rg = torch.std_mean(rg, dim=1, correction=0)
    std_yb, mean_yb = torch.std_mean(yb, dim=1, correction=0)
    per_image = torch.hypot(std_rg, std_yb) + 0.3 * torch.hypot(mean_rg, mean_yb)
    return _reduce(per_image, reduction, single)


# -------------------------------------------------------------------- PSNR

def psnr(pred_rgb, true_rgb, data_range: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, per image, as ``skimage.metrics.peak_signal_noise_ratio``.

    Parameters
    ----------
    pred_rgb, true_rgb : float tensor, (N,3,H,W) or (3,H,W), values in [0, data_range]
        Same shape. The range is checked, so 0-255 values with the default
        data_range of 1 are refused rather than scored 48 dB too high.
    data_range : float
        The largest possible value (1 for float images, 255 for 0-255 floats).
    reduction : {'mean', 'none'}

    Returns
    -------
    ``10 * log10(data_range**2 / mse)`` with mse the mean squared error over all
    channels and pixels of the image. Identical images give ``inf`` (mse = 0),
    as in scikit-image; the 'mean' of a batch containing one is then ``inf`` too,
    so use 'none' to see the others. 0-d for 'mean', (N,) for 'none'.
    """
    _check_reduction(reduction, "psnr")
    ok = isinstance(data_range, numbers.Real) and not isinstance(data_range, bool)
    if not ok or not (0 < data_range < float("inf")):
        raise ValueError(f"psnr: data_range must be a positive number (1 for images in [0, 1]), got {data_range!r}.")

    def check(x, name):
        x, single = channels_image(x, 3, name, f"RGB in [0, {data_range:g}]")
        check_range(x, 0.0, float(data_range), name)
        return x, single

    p, t, single = _pair(pred_rgb, true_rgb, "psnr", check)
    mse = (p - t).square().mean(dim=(1, 2, 3))
    per_image = 10.0 * torch.log10(data_range**2 / mse)  # mse == 0 -> +inf, no exception
    return _reduce(per_image, reduction, single)
