"""Checkers for notebooks 00 and 01: uint8 to float, RGB to YUV, RGB to Lab.

Also the inputs every colour checker shares: pure primaries, white and black, dark grays on
the linear segments of sRGB and Lab, and random images and batches (:func:`rgb_cases`).
"""

from __future__ import annotations

import torch

from .engine import (Case, CheckFailed, Explanation, Reference, call, case, channel_order, compare, image_element,
                     matches, name_of, named_channels, require_callable, rng)


def color_pixels(*rgb) -> torch.Tensor:
    """A (3, 1, k) float32 image of the given RGB triples, each channel in [0, 1]."""
    return torch.tensor(rgb, dtype=torch.float32).T.reshape(3, 1, len(rgb))


def rgb_cases() -> list[Case]:
    """Seven float32 RGB inputs in [0, 1], (3,H,W) and one (N,3,H,W): the edge cases, then random ones."""
    g = rng(0)
    return [
        case("pure red", color_pixels((1, 0, 0))),
        case("pure green", color_pixels((0, 1, 0))),
        case("pure blue", color_pixels((0, 0, 1))),
        case("white and black", color_pixels((1, 1, 1), (0, 0, 0))),
        # 0.02 lies on sRGB's linear segment and Lab's linear segment; 0.06 on Lab's only
        case("dark grays 0.02, 0.06 and 0.2", color_pixels((0.02,) * 3, (0.06,) * 3, (0.2,) * 3)),
        case("random image", torch.rand(3, 5, 7, generator=g)),
        case("random batch", torch.rand(2, 3, 4, 6, generator=g)),
    ]


def check_to_float_image(fn) -> None:
    """Check ``fn(images) -> float images``, uint8 0-255 to float32 0-1, against :func:`colorlab.data.to_float_image`.

    ``images`` is a torch.uint8 tensor of any shape; the result has the same shape, dtype
    torch.float32, 0 -> 0.0 and 255 -> 1.0. Values must agree to 1e-6.
    """
    from ..data import to_float_image

    __tracebackhide__ = True
    require_callable(fn, "check_to_float_image", "to_float_image")
    g = rng(0)
    cases = [
        case("black and white pixels", torch.tensor([[[0]], [[255]], [[128]]], dtype=torch.uint8)),
        case("a random image", torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8, generator=g)),
        case("a random batch", torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8, generator=g)),
    ]
    name = name_of(fn, "to_float_image")
    for each in cases:
        got = call(fn, each, name, first=each is cases[0])
        if isinstance(got, torch.Tensor) and got.dtype != torch.float32:
            hint = (" — hint: dividing a uint8 tensor by an integer keeps integers; convert with .float() or "
                    ".to(torch.float32) first" if not got.is_floating_point() else "")
            raise CheckFailed(f'{name} returned dtype {got.dtype} on "{each.label}"; it should return '
                              f"torch.float32{hint}.") from None
    compare(fn, name, Reference(to_float_image, "colorlab.data.to_float_image", 1e-6), cases,
            Explanation(factors={255.0: "the values are 0-255: divide by 255"}))


def check_rgb_to_yuv(fn) -> None:
    """Check ``fn(rgb) -> yuv``, RGB to YUV (BT.601), against :func:`colorlab.color.rgb_to_yuv`.

    ``rgb`` is a float tensor of shape (3,H,W) or (N,3,H,W) with values in [0, 1]; the result
    has the same shape: Y in [0, 1], U in [-0.436, 0.436], V in [-0.615, 0.615] (the matrix
    ``colorlab.color.YUV_FROM_RGB``). Values must agree to 5e-4, which the rounded textbook
    coefficients (0.436, 0.615, -0.515, ...) meet. Prints ✓ (and returns None), or raises
    :class:`ExerciseNotDone` / :class:`CheckFailed`.
    """
    from ..color import rgb_to_yuv

    require_callable(fn, "check_rgb_to_yuv", "rgb_to_yuv")
    atol = 5e-4
    compare(fn, name_of(fn, "rgb_to_yuv"), Reference(rgb_to_yuv, "colorlab.color.rgb_to_yuv", atol),
            rgb_cases(),
            Explanation(element=named_channels("YUV"), hints=[channel_order(("Y", "U", "V"), atol, 0)]))


def check_rgb_to_lab(fn) -> None:
    """Check ``fn(rgb) -> lab``, sRGB to CIE Lab (D65), against :func:`colorlab.color.rgb_to_lab`.

    ``rgb`` is a float tensor (3,H,W) or (N,3,H,W) in [0, 1]; the result has the same shape:
    L in [0, 100], a and b roughly in [-128, 127]. The steps: undo the sRGB gamma (linear
    below 0.04045), the matrix ``colorlab.color.XYZ_FROM_RGB``, divide by the D65 white
    ``colorlab.color.D65_WHITE``, the cube root (linear below 0.008856), then L, a, b.
    Values must agree to 1e-3.
    """
    from ..color import linear_to_srgb, rgb_to_lab

    require_callable(fn, "check_rgb_to_lab", "rgb_to_lab")
    atol, rtol = 1e-3, 1e-5
    no_gamma = matches(lambda rgb: rgb_to_lab(linear_to_srgb(rgb)),
                       "that is the Lab of the RGB values taken as linear; undo the sRGB gamma first", atol, rtol)
    compare(fn, name_of(fn, "rgb_to_lab"), Reference(rgb_to_lab, "colorlab.color.rgb_to_lab", atol, rtol),
            rgb_cases(),
            Explanation(element=image_element(lambda c: ("L", "a", "b")[c]),
                        hints=[no_gamma, channel_order(("L", "a", "b"), atol, rtol)]))
