"""Checkers for the losses of notebooks 01, 03 and 04: Zhu et al.'s UV loss, SmoothL1 and Dahl's blur loss.

Each loss is a 0-d tensor, so the usual mistakes show as a constant factor (a sum where a
mean is wanted) or as a known wrong variant of the formula; the hints name both.
"""

from __future__ import annotations

import torch

from .color_spaces import color_pixels
from .engine import Explanation, Reference, case, compare, matches, name_of, require_callable, rng, summed

_ONE_NUMBER = "a single number, a 0-d tensor (shape ())"


def check_uv_loss(fn) -> None:
    """Check ``fn(pred_rgb, true_rgb) -> loss``, the UV loss of Zhu, Zhao and Guo.

    ``pred_rgb`` and ``true_rgb`` are float tensors of the same shape, (3,H,W) or (N,3,H,W),
    RGB in [0, 1]. Convert both to YUV and return the sum of the squared U and V errors
    divided by 2 W H, as a 0-d tensor; for a batch, the mean of that over the images. The
    reference is :func:`colorlab.metrics.uv_loss`; values must agree to a relative 1e-4.
    """
    from ..color import rgb_to_gray
    from ..metrics import uv_loss

    require_callable(fn, "check_uv_loss", "uv_loss")
    g = rng(1)
    photo = torch.rand(3, 8, 8, generator=g)
    batch_true = torch.rand(4, 3, 6, 6, generator=g)
    cases = [
        case("identical images", photo, photo.clone()),
        case("its gray version against a colour image", rgb_to_gray(photo), photo),
        case("pure red against pure blue", color_pixels((1, 0, 0)), color_pixels((0, 0, 1))),
        case("two random images", torch.rand(3, 5, 7, generator=g), torch.rand(3, 5, 7, generator=g)),
        case("a random batch of 4 pairs", torch.rand(4, 3, 6, 6, generator=g), batch_true),
    ]

    def factors(each):
        shape = each.input_shape
        out = {2.0 * shape[-1] * shape[-2]: "the squared errors are summed but not divided by 2 W H"}
        if len(shape) == 4:
            out[float(shape[0])] = "the images of the batch are summed, not averaged"
        return out

    compare(fn, name_of(fn, "uv_loss"), Reference(uv_loss, "colorlab.metrics.uv_loss", 1e-7, 1e-4), cases,
            Explanation(rule=_ONE_NUMBER, factors=factors))


def _smooth_l1_variant(pred, target, beta=0.1, divide_by_beta=True, half_beta=True):
    e = (pred - target).abs()
    quadratic = 0.5 * e**2 / (beta if divide_by_beta else 1.0)
    return torch.where(e < beta, quadratic, e - (0.5 * beta if half_beta else 0.5)).mean()


def check_smooth_l1(fn) -> None:
    """Check ``fn(pred, target, beta=0.1) -> loss``, the SmoothL1 (Huber-like) loss of Depaoli and Mistrali.

    ``pred`` and ``target`` are float tensors of the same shape (N,C,H,W). For each error
    e = pred - target the loss is 0.5 e**2 / beta where |e| < beta and |e| - 0.5 beta
    elsewhere; return the mean over all elements as a 0-d tensor. ``beta`` defaults to 0.1.
    The reference is :func:`colorlab.losses.smooth_l1` (= ``torch.nn.functional.smooth_l1_loss``);
    values must agree to a relative 1e-5.
    """
    from ..losses import smooth_l1

    require_callable(fn, "check_smooth_l1", "smooth_l1")
    g = rng(2)
    target = torch.rand(2, 2, 4, 4, generator=g) * 2 - 1
    sign = torch.where(torch.rand(2, 2, 4, 4, generator=g) < 0.5, -1.0, 1.0)
    small = sign * torch.rand(2, 2, 4, 4, generator=g) * 0.09  # every |e| < 0.1
    large = sign * (0.15 + torch.rand(2, 2, 4, 4, generator=g))  # every |e| > 0.1
    mixed = (torch.rand(2, 2, 4, 4, generator=g) * 2 - 1) * 0.3
    wide = (torch.rand(1, 2, 5, 6, generator=g) * 2 - 1) * 2.5
    cases = [
        case("every error below beta, beta=0.1", target + small, target, beta=0.1),
        case("every error above beta, beta=0.1", target + large, target, beta=0.1),
        case("errors on both sides of beta, beta left at its default", target + mixed, target),
        case("errors on both sides of beta, beta=1.0", wide, torch.zeros(1, 2, 5, 6), beta=1.0),
        case("no error at all, beta=0.1", target, target.clone(), beta=0.1),
    ]
    atol, rtol = 1e-8, 1e-5
    hints = [
        matches(lambda p, t, beta=0.1: _smooth_l1_variant(p, t, beta, divide_by_beta=False),
                "below beta the loss is 0.5 e**2 / beta, divided by beta, so that both pieces meet at |e| = beta",
                atol, rtol),
        matches(lambda p, t, beta=0.1: _smooth_l1_variant(p, t, beta, half_beta=False),
                "above beta the loss is |e| - 0.5 * beta, not |e| - 0.5", atol, rtol),
    ]
    compare(fn, name_of(fn, "smooth_l1"), Reference(smooth_l1, "colorlab.losses.smooth_l1", atol, rtol),
            cases, Explanation(rule=_ONE_NUMBER, hints=hints, factors=summed))


def _blur_loss_zero_padded(pred, target):
    import torch.nn.functional as F

    from ..losses import gaussian_kernel

    terms = [F.mse_loss(pred, target)]
    for size in (3, 5):
        kernel = gaussian_kernel(size, pred.shape[1], pred.dtype, str(pred.device))
        blur = lambda x: F.conv2d(x, kernel, padding=size // 2, groups=x.shape[1])  # noqa: E731
        terms.append(F.mse_loss(blur(pred), blur(target)))
    return torch.stack(terms).mean()


def check_blur_loss(fn) -> None:
    """Check ``fn(pred, target) -> loss``, Dahl's blur loss.

    ``pred`` and ``target`` are float tensors (N,2,H,W) with H, W >= 8. Return, as a 0-d
    tensor, the mean of three mean squared errors: of the images themselves, and of the
    two after blurring each channel with a 3x3 and with a 5x5 Gaussian (sigma 0.8 and 1.1,
    OpenCV's defaults; see :func:`colorlab.losses.gaussian_sigma`), the borders padded by
    reflection (``F.pad(..., mode="reflect")``). The reference is
    :func:`colorlab.losses.blur_loss`; values must agree to a relative 1e-4.
    """
    from ..losses import blur_loss

    require_callable(fn, "check_blur_loss", "blur_loss")
    g = rng(3)
    target = torch.rand(2, 2, 8, 8, generator=g) * 2 - 1
    checker = (torch.arange(10)[:, None] + torch.arange(10)[None, :]) % 2 * 0.4 - 0.2
    base = torch.rand(1, 2, 10, 10, generator=g) * 2 - 1
    cases = [
        case("identical images", target, target.clone()),
        case("two random images", torch.rand(2, 2, 8, 8, generator=g) * 2 - 1, target),
        case("two random images, not square", torch.rand(1, 2, 9, 12, generator=g) * 2 - 1,
             torch.rand(1, 2, 9, 12, generator=g) * 2 - 1),
        case("the same image shifted by 0.3", target[:1] + 0.3, target[:1]),
        case("a checkerboard difference, which blurring mostly removes", base + checker, base),
    ]
    atol, rtol = 1e-8, 1e-4
    hints = [matches(_blur_loss_zero_padded,
                     'that is the loss with zero padding; pad by reflection, F.pad(x, ..., mode="reflect")',
                     atol, rtol)]
    compare(fn, name_of(fn, "blur_loss"), Reference(blur_loss, "colorlab.losses.blur_loss", atol, rtol),
            cases, Explanation(rule=_ONE_NUMBER, hints=hints,
                               factors=lambda each: {**summed(each),
                                                     3.0: "the three terms are summed, not averaged"}))
