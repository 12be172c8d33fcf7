"""The checker of notebook 02: the 37 numbers that describe one pixel in Zhu et al.'s HOG + SVR colorizer.

The feature is Y at the pixel and scikit-image's HOG of the 16x16 window around it; the
usual mistakes are a window one pixel off and colorlab's dense HOG, which sees past the
window's border. The inputs are a crop of the astronaut photo (:func:`photo_luma`) and a
synthetic texture with gradients in every direction.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from .engine import Case, Explanation, Reference, compare, matches, name_of, require_callable

_HOG_CELLS = ("top-left", "top-right", "bottom-left", "bottom-right")


def _window_feature(y, row: int, col: int) -> np.ndarray:
    """Y at (row, col) and skimage's HOG of the 16x16 window around it: the reference feature."""
    from ..models.hog_svr import window_feature

    return window_feature(y, row, col)


def _feature_element(index: tuple, shape: tuple) -> str:
    k = index[0]
    if k == 0:
        return "feature 0 (Y)"
    cell, b = _HOG_CELLS[(k - 1) // 9], (k - 1) % 9
    return f"feature {k} (the {cell} cell's orientation bin {b}, {20 * b}-{20 * b + 20} degrees)"


def _texture(h: int, w: int) -> np.ndarray:
    """Two crossed sinusoids and a soft diagonal edge: gradients in many directions."""
    r, c = np.mgrid[0:h, 0:w].astype(np.float64)
    y = 0.5 + 0.2 * np.sin(0.9 * r + 0.4 * c) + 0.15 * np.cos(0.3 * r - 1.1 * c) + 0.1 * np.tanh((r - c) / 3)
    return np.clip(y, 0.0, 1.0)


def photo_luma() -> np.ndarray:
    """Y of a 40x48 crop of the astronaut photo (her badge and suit: edges in many directions).

    A float64 NumPy array (40, 48) in [0, 1], the image :func:`check_pixel_feature` tries first.
    """
    from ..color import rgb_to_yuv
    from ..data import load_photo

    rgb = torch.from_numpy(load_photo("astronaut")[100:140, 180:228]).permute(2, 0, 1).double() / 255
    return rgb_to_yuv(rgb)[0].numpy()


def check_pixel_feature(fn) -> None:
    """Check ``fn(y, row, col) -> feature``, the 37 numbers that describe one pixel in Zhu, Zhao and Guo's method.

    ``y`` is a float64 NumPy array (H,W), the luma Y in [0, 1]; ``row`` and ``col`` lie at
    least 8 pixels inside the image (``8 <= row <= H - 8``, ``8 <= col <= W - 8``), so the
    16x16 window ``y[row-8:row+8, col-8:col+8]`` fits. Return 37 numbers, shape (37,): Y at
    (row, col), then ``skimage.feature.hog`` of that window with 9 orientations, 8x8-pixel
    cells, 2x2 cells per block and L2-Hys normalisation (36 values). A NumPy array or a
    tensor; values must agree to 1e-5.

    :func:`colorlab.models.hog_svr.pixel_features` computes the same thing for every pixel at
    once, with one difference: on the window's border it takes the gradient from the pixels
    just outside the window, where ``skimage.feature.hog``, seeing only the window, puts 0.
    Inside a photo the two therefore differ by up to about 0.2 per value; they agree exactly
    when the window is the whole image. The checker wants skimage's definition.
    """
    require_callable(fn, "check_pixel_feature", "pixel_feature")
    photo = photo_luma()
    texture = _texture(32, 32)
    g = np.random.default_rng(0)
    r, c = (int(v) for v in (g.integers(8, 33), g.integers(8, 41)))
    points = [
        ("astronaut luma", photo, 20, 25),
        ("astronaut luma, the window in the image's top-left corner", photo, 8, 8),
        ("astronaut luma, the window in the image's bottom-right corner", photo, 32, 40),
        ("astronaut luma, a random pixel", photo, r, c),
        ("crossed sinusoids", texture, 16, 16),
        ("crossed sinusoids", texture, 11, 19),
        ("a flat gray image, so no gradient at all", np.full((20, 20), 0.4), 10, 10),
        ("a 16x16 image, the window is all of it", texture[5:21, 7:23].copy(), 8, 8),
    ]
    cases = [Case(f"{what}, pixel ({row}, {col}) of a {y.shape[0]}x{y.shape[1]} image", (y, row, col), {}, None)
             for what, y, row, col in points]

    atol = 1e-5

    def dense_feature(y, row, col):
        from ..models.hog_svr import pixel_features  # imports scikit-learn: seconds, so only when needed

        return pixel_features(y)[:, row, col]

    dense = matches(dense_feature,
                    "your values are colorlab's pixel_features, which takes the gradient on the window's border "
                    "from the pixels outside it; this exercise wants skimage.feature.hog of the 16x16 window alone",
                    atol, 0)

    def shifted_feature(dr: int, dc: int):
        return lambda y, row, col: np.concatenate([[y[row, col]], _window_feature(y, row + dr, col + dc)[1:]])

    shifted = []
    for dr, dc in itertools.product((-1, 0, 1), repeat=2):
        if (dr, dc) != (0, 0):
            where = {-1: ["one row higher"], 0: [], 1: ["one row lower"]}[dr]
            where += {-1: ["one column to the left"], 0: [], 1: ["one column to the right"]}[dc]
            shifted.append(matches(shifted_feature(dr, dc), f"that is the HOG of the window {', '.join(where)}; "
                                   "the window is y[row-8:row+8, col-8:col+8]", atol, 0))
    compare(fn, name_of(fn, "pixel_feature"),
            Reference(_window_feature, "Y and skimage.feature.hog of the 16x16 window", atol), cases,
            Explanation(rule="37 values, shape {expected}: Y at (row, col), then the 36 HOG values",
                        element=_feature_element, hints=[*shifted, dense]))
