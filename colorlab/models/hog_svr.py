"""HOG + SVR: the per-pixel baseline of Zhu et al. (000, section 2.1).

Each pixel is described by 37 numbers: its luma Y and the HOG descriptor of the
16x16 window around it (2x2 cells of 8x8 pixels, 9 orientation bins). One
linear support vector regressor predicts U from these, another predicts V.
The paper found that the learned weights end up near 0 and the bias near the
mean colour, so the model paints every pixel about the same faint tint, and its
UV loss is only a little below that of the gray output (Table 1: 0.004787 vs
0.005163). :attr:`HogSvrColorizer.weights_` and :attr:`HogSvrColorizer.bias_`
let a notebook check that finding; note that ``bias_`` is the intercept on
uncentred features (the colour of an all-zero feature vector), so what compares
with the mean colour is the average prediction, ``bias_ + weights_ @ mean
feature`` (notebook 02 prints both).

The descriptor is computed densely, for every pixel at once, by
:func:`dense_hog`, and agrees with :func:`skimage.feature.hog` on each window
(see :func:`dense_hog` for exactly where the two definitions coincide).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.svm import LinearSVR

from .._validate import as_tensor, channels_image, check_finite, check_range, describe, rgb_image, whole_number
from ..color import rgb_to_yuv, yuv_to_rgb

__all__ = ["dense_hog", "pixel_features", "window_feature", "HogSvrColorizer", "N_FEATURES"]

N_FEATURES = 37  # Y + 2x2 cells x 9 orientations

_EPS = 1e-5  # the eps of skimage.feature._hog._hog_normalize_block
_HYS_CLIP = 0.2  # L2-Hys clips at 0.2 (Lowe's SIFT value, skimage's too)


def _gray_2d(y, name: str) -> np.ndarray:
    """A finite float (H,W) image as a NumPy array, keeping float32/float64."""
    t = as_tensor(y, name)
    if t.ndim != 2:
        raise ValueError(
            f"{name}: expected a single gray image of shape (H,W), got {describe(y)}. "
            "Take one channel first, e.g. `yuv[0]` for Y of a (3,H,W) image."
        )
    if min(t.shape) < 2:
        raise ValueError(f"{name}: the image must be at least 2x2 pixels, got shape {tuple(t.shape)}.")
    check_finite(t, name)
    a = t.detach().cpu().numpy()
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)


def _cell_sums(a: np.ndarray, cell: int) -> np.ndarray:
    """Sums over every cell x cell square of the last two axes (output shorter by cell - 1 each).

    Plain additions of shifted slices rather than an integral image: the
    magnitudes are non-negative, so a flat cell sums to exactly 0. An integral
    image would leave rounding residue of ~1e-12 there, and L2-Hys (scale-invariant
    down to its eps) would blow that residue up into a full-size descriptor.
    """
    n = a.shape[-2] - cell + 1
    rows = a[..., :n, :].copy()
    for k in range(1, cell):  # loops over offsets within a cell, never over pixels
        rows += a[..., k : k + n, :]
    n = a.shape[-1] - cell + 1
    out = rows[..., :n].copy()
    for k in range(1, cell):
        out += rows[..., k : k + n]
    return out


def dense_hog(y, cell: int = 8, orientations: int = 9) -> np.ndarray:
    """HOG of the (2*cell)x(2*cell) window around every pixel, all pixels at once.

    Parameters
    ----------
    y : float array or tensor, shape (H,W), any finite values (colorlab passes Y in [0, 1])
        H and W at least 2. float32 input keeps float32 gradients, as in skimage.
    cell : int
        Cell side in pixels; the window is 2x2 cells.
    orientations : int
        Number of unsigned orientation bins over [0, 180) degrees.

    Returns
    -------
    float32 ndarray, shape (4 * orientations, H, W), values in [0, 1].
        ``out[:, r, c]`` describes the window of rows ``r - cell .. r + cell - 1``
        and columns ``c - cell .. c + cell - 1`` (so the pixel is the top-left
        of the window's four central pixels). The 36 values are ordered as
        skimage's feature vector: cells top-left, top-right, bottom-left,
        bottom-right, 9 bins each.

    Notes
    -----
    Every step is skimage's ``hog(window, orientations, (cell, cell), (2, 2),
    'L2-Hys')``: gradients are central differences without the 1/2
    (``y[r+1] - y[r-1]``); orientation ``arctan2(g_row, g_col) mod 180`` degrees
    goes to one bin by hard assignment, bin ``i`` holding ``[180 i/n, 180 (i+1)/n)``;
    a cell histogram is the *mean* gradient magnitude per bin over the cell's
    pixels; the block is L2-normalised, clipped at 0.2 and renormalised, eps 1e-5.

    The one difference is the gradient on the window's border: skimage sees only
    the window and sets the gradient across its first and last row (column) to
    0, while here it uses the real neighbours outside the window. Outside the
    image, the image is mirrored about its edge pixel (NumPy's ``'reflect'``:
    ``c b | a b c``), which makes the gradient across the image's own border 0,
    as skimage does. Hence for a 2*cell x 2*cell image ``w``,
    ``dense_hog(w)[:, cell, cell]`` equals ``skimage.feature.hog(w, ...)``.

    A flat window (no gradient) gives all zeros, not NaN.
    """
    y = _gray_2d(y, "dense_hog input")
    n_bins = int(orientations)
    h, w = y.shape
    # One pixel more than the window needs, for the central differences.
    pad = cell + 1
    yp = np.pad(y, pad, mode="reflect")

    # skimage's _hog_channel_gradient: differences in the image's dtype, then float64.
    g_row = np.zeros_like(yp)
    g_row[1:-1] = yp[2:] - yp[:-2]
    g_col = np.zeros_like(yp)
    g_col[:, 1:-1] = yp[:, 2:] - yp[:, :-2]
    g_row = g_row.astype(np.float64)
    g_col = g_col.astype(np.float64)
    magnitude = np.hypot(g_col, g_row)
    orientation = np.arctan2(g_row, g_col) * (180 / np.pi) % 180

    # skimage compares against bin edges held as C floats (float32), so round them
    # the same way; an angle that rounds to exactly 180 falls in no bin there, nor here.
    edges = (180.0 / n_bins * np.arange(n_bins + 1)).astype(np.float32).astype(np.float64)
    bin_index = np.searchsorted(edges, orientation, side="right") - 1
    per_bin = (bin_index == np.arange(n_bins)[:, None, None]) * magnitude  # (bins, Hp, Wp)

    # cells[:, a, b] = mean over padded rows a..a+cell-1, columns b..b+cell-1.
    cells = _cell_sums(per_bin, cell) / (cell * cell)
    # The window of pixel (r, c) starts at padded row r + 1 (= image row r - cell).
    top, left = slice(1, 1 + h), slice(1, 1 + w)
    bottom, right = slice(1 + cell, 1 + cell + h), slice(1 + cell, 1 + cell + w)
    block = np.concatenate(
        [cells[:, top, left], cells[:, top, right], cells[:, bottom, left], cells[:, bottom, right]]
    )

    # L2-Hys as skimage: the eps keeps a zero block at 0 instead of 0/0.
    block = block / np.sqrt((block**2).sum(0) + _EPS**2)
    block = np.minimum(block, _HYS_CLIP)
    block = block / np.sqrt((block**2).sum(0) + _EPS**2)
    return block.astype(np.float32)


def pixel_features(y) -> np.ndarray:
    """The 37 per-pixel features of the paper: Y, then the 36 values of :func:`dense_hog`.

    Parameters
    ----------
    y : float array or tensor, shape (H,W), luma in [0, 1]

    Returns
    -------
    float32 ndarray, shape (37, H, W); channel 0 is Y, channels 1..36 the HOG.
    """
    y_np = _gray_2d(y, "pixel_features input")
    check_range(torch.from_numpy(y_np), 0.0, 1.0, "pixel_features input")
    return np.concatenate([y_np[None].astype(np.float32), dense_hog(y_np)])


def window_feature(y, row: int, col: int) -> np.ndarray:
    """The 37 features of one pixel as the paper states them: Y, then skimage's HOG of its window.

    Parameters
    ----------
    y : float array, shape (H,W), luma in [0, 1]
    row, col : int
        The pixel; its window is rows ``row - 8 .. row + 7`` and columns ``col - 8 .. col + 7``,
        so ``8 <= row <= H - 8`` and ``8 <= col <= W - 8``.

    Returns
    -------
    float64 ndarray, shape (37,): ``y[row, col]``, then
    ``skimage.feature.hog(window, 9, (8, 8), (2, 2), "L2-Hys")``.

    One call of ``hog`` per pixel: the definition, and slow. :func:`pixel_features`
    computes all pixels at once; it differs from this only in the gradients on the
    window's border, where ``hog`` (seeing the window alone) puts 0 and
    :func:`dense_hog` uses the real neighbouring pixels.
    """
    from skimage.feature import hog

    y = _gray_2d(y, "window_feature input")
    h, w = y.shape
    if not (8 <= row <= h - 8 and 8 <= col <= w - 8):
        raise ValueError(f"window_feature: pixel ({row}, {col}) has no full 16x16 window in an image of shape "
                         f"{(h, w)}; use 8 <= row <= {h - 8} and 8 <= col <= {w - 8}.")
    window = y[row - 8 : row + 8, col - 8 : col + 8]
    descriptor = hog(window, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys",
                     feature_vector=True)
    return np.concatenate([[float(y[row, col])], descriptor])


def _luma_batch(y, name: str) -> torch.Tensor:
    """Y as (N,H,W) float on the CPU from (N,1,H,W) or (N,H,W) in [0, 1]."""
    t = as_tensor(y, name)
    if t.ndim == 4 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 3 or t.shape[0] == 0:
        raise ValueError(f"{name}: expected Y of shape (N,1,H,W) or (N,H,W) with N >= 1, got {describe(y)}.")
    check_range(t, 0.0, 1.0, name)
    return t.detach().cpu()


class HogSvrColorizer:
    """Predict U and V of every pixel from Y and the HOG of its 16x16 window.

    Two :class:`sklearn.svm.LinearSVR`, one for U and one for V, on the raw 37
    features of :func:`pixel_features`, not standardised: Y lies in [0, 1] and
    each HOG value in [0, 1] too, so the problem is well scaled as it is, and the
    weights keep the units of the paper, where a bias equal to the mean colour and
    weights near 0 mean "the same colour everywhere".

    Parameters
    ----------
    C : float
        Inverse regularisation strength of liblinear's objective
        ``0.5 |w|^2 + C * sum_i loss_i`` (summed, not averaged, over pixels;
        liblinear regularises the bias too, which is negligible at thousands of
        pixels).
    epsilon : float
        Half-width of the tube in which errors cost nothing. U and V of natural
        photos mostly lie within +-0.1, so the default 0 (sklearn's too) keeps
        every error counted: the loss is then the absolute error, and the fit a
        median regression.
    max_pixels : int
        Training pixels drawn at random (without replacement) from all pixels of
        all training images; neighbouring pixels are nearly duplicates, so a
        sample loses little and keeps the fit fast.
    seed : int
        Seeds the pixel sample and liblinear's coordinate order: the same seed
        and data give the same model.

    Attributes
    ----------
    weights_ : float64 ndarray, shape (2, 37) -- rows U, V; columns Y, then the 36 HOG values
    bias_ : float64 ndarray, shape (2,) -- U and V predicted for an all-zero feature vector
    uv_mean_ : float64 ndarray, shape (2,) -- mean U and V of the sampled training pixels
    n_pixels_ : int -- number of training pixels used

    Notes
    -----
    ``bias_`` is the colour given to a black pixel with no gradient around it;
    it equals the mean colour only when the weights are near 0, since the 36 HOG
    values of a textured window are never all 0 (they have unit L2 norm). The
    paper's finding (weights near 0, bias near the mean, on COCO) is what a linear
    model must learn when Y and HOG tell nothing about colour. Trained on patches
    of only a few photos, it instead partly recognises the photo: weights that are
    small but not 0 (their size depends on the photos; notebook 02 prints them), an
    intercept away from the mean with the opposite sign of ``weights_ @ mean
    feature``, and a much lower error on new patches of those photos than on a
    photo it has not seen.

    :meth:`predict_uv` and :meth:`colorize` raise
    :class:`sklearn.exceptions.NotFittedError` before :meth:`fit`.
    """

    def __init__(self, C: float = 1.0, epsilon: float = 0.0, max_pixels: int = 20000, seed: int = 0):
        if not C > 0:
            raise ValueError(f"C must be positive, got {C!r}.")
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon!r}.")
        whole_number(max_pixels, "max_pixels")
        self.C = float(C)
        self.epsilon = float(epsilon)
        self.max_pixels = int(max_pixels)
        self.seed = int(seed)

    def fit(self, rgb_images) -> "HogSvrColorizer":
        """Fit the U and V regressors.

        Parameters
        ----------
        rgb_images : float tensor or array, (N,3,H,W) or (3,H,W), RGB in [0, 1]

        Returns
        -------
        self
        """
        rgb, _ = rgb_image(rgb_images, "HogSvrColorizer.fit input")
        yuv = rgb_to_yuv(rgb.detach().cpu().float()).numpy()
        n, _, h, w = yuv.shape

        # Draw the pixels first, so features are gathered per image, never all at once.
        total = n * h * w
        rng = np.random.default_rng(self.seed)
        chosen = np.sort(rng.choice(total, size=min(self.max_pixels, total), replace=False))
        image_of, pixel_of = np.divmod(chosen, h * w)
        x_parts, uv_parts = [], []
        for i in np.unique(image_of):
            pix = pixel_of[image_of == i]
            x_parts.append(pixel_features(yuv[i, 0]).reshape(N_FEATURES, -1)[:, pix].T)
            uv_parts.append(yuv[i, 1:].reshape(2, -1)[:, pix].T)
        x = np.concatenate(x_parts).astype(np.float64)
        uv = np.concatenate(uv_parts)

        weights, bias = [], []
        for k in range(2):
            svr = LinearSVR(
                C=self.C,
                epsilon=self.epsilon,
                loss="epsilon_insensitive",
                dual=True,  # liblinear solves the epsilon-insensitive loss only in the dual
                max_iter=10000,
                random_state=self.seed,
            )
            svr.fit(x, uv[:, k])
            weights.append(svr.coef_)
            bias.append(float(np.ravel(svr.intercept_)[0]))
        self.weights_ = np.stack(weights)
        self.bias_ = np.array(bias)
        self.uv_mean_ = uv.astype(np.float64).mean(0)
        self.n_pixels_ = len(chosen)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise NotFittedError("This HogSvrColorizer is not fitted yet: call fit(rgb_images) first.")

    def predict_uv(self, y) -> torch.Tensor:
        """Predict U and V from Y.

        Parameters
        ----------
        y : float tensor or array, (N,1,H,W) or (N,H,W), luma in [0, 1]

        Returns
        -------
        float32 tensor on the CPU, shape (N,2,H,W): U (about +-0.436) and V (about +-0.615).
        """
        self._check_fitted()
        luma = _luma_batch(y, "HogSvrColorizer.predict_uv input")
        n, h, w = luma.shape
        out = np.empty((n, 2, h, w), dtype=np.float32)
        for i in range(n):  # one matrix product per image
            feats = pixel_features(luma[i].numpy()).reshape(N_FEATURES, -1)
            out[i] = (self.weights_ @ feats + self.bias_[:, None]).reshape(2, h, w)
        return torch.from_numpy(out)

    def colorize(self, rgb_or_gray) -> torch.Tensor:
        """Colour a photo from its luma alone.

        Parameters
        ----------
        rgb_or_gray : float tensor or array in [0, 1]; RGB (N,3,H,W) or (3,H,W), of
            which only Y is used, or gray (N,1,H,W) or (1,H,W), taken as Y itself
            (for R = G = B = v, Y = v).

        Returns
        -------
        float32 tensor, RGB in [0, 1], shape (N,3,H,W) ((3,H,W) for unbatched input),
        on the input's device. Colours outside the RGB cube are clipped.
        """
        self._check_fitted()
        x = as_tensor(rgb_or_gray, "HogSvrColorizer.colorize input")
        device = x.device
        if x.ndim in (3, 4) and x.shape[-3] == 1:
            gray, single = channels_image(x, 1, "HogSvrColorizer.colorize input", "gray in [0, 1]")
            check_range(gray, 0.0, 1.0, "HogSvrColorizer.colorize input")
            luma = gray.detach().cpu().float()
        else:
            rgb, single = rgb_image(x, "HogSvrColorizer.colorize input")
            luma = rgb_to_yuv(rgb.detach().cpu().float())[:, :1]
        uv = self.predict_uv(luma)
        rgb_out = yuv_to_rgb(torch.cat([luma, uv], dim=1)).clamp(0.0, 1.0).to(device)
        return rgb_out[0] if single else rgb_out
