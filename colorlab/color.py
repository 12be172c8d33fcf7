"""Colour spaces as batched, differentiable torch functions.

Every function takes a float tensor of shape (3,H,W) or (N,3,H,W) on any device
and returns the same shape, dtype and device. RGB is sRGB with values in [0, 1].
The formulas and constants are those of scikit-image's ``skimage.color`` (D65
white point, 2 degree observer), and the tests compare against it.

=========  ==========================================  ==========================
space      channels                                    range
=========  ==========================================  ==========================
RGB        R, G, B                                      [0, 1]
Lab        L (lightness), a (green-red), b (blue-yellow) L in [0, 100], a and b about [-128, 127]
YUV        Y (luma), U, V (BT.601)                      Y [0, 1], U +-0.436, V +-0.615
HSV        H (hue, a fraction of a turn), S, V          [0, 1] each; H wraps: 0 and 1 are both red
=========  ==========================================  ==========================

The models see normalised values (:func:`normalize_l`, :func:`normalize_ab`),
and every model in colorlab uses the same scaling, so checkpoints and
metrics agree.
"""

from __future__ import annotations

import functools

import torch

from ._validate import channels_image, rgb_image

# sRGB (linear) -> XYZ, D65; the matrix scikit-image uses.
XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
# CIE standard illuminant D65, 2 degree observer.
D65_WHITE = (0.95047, 1.0, 1.08883)

# BT.601 luma and chroma, the YUV of Zhu et al. (000) and Dahl (004).
YUV_FROM_RGB = (
    (0.299, 0.587, 0.114),
    (-0.14714119, -0.28886916, 0.43601035),
    (0.61497538, -0.51496512, -0.10001026),
)

# Scaling for the networks: L in [0, 100] -> [-1, 1]; ab / 110 maps the
# in-gamut ab range (about +-110, Zhang's bins span -110..100) into about [-1, 1].
L_CENTER, L_SCALE = 50.0, 50.0
AB_SCALE = 110.0

_LAB_EPSILON = 0.008856  # (6/29)^3: below it CIE Lab is linear, not a cube root
_LAB_KAPPA = 7.787  # slope of that linear part


@functools.lru_cache(maxsize=None)
def _matrix(name: str, dtype: torch.dtype, device: str) -> torch.Tensor:
    # Cached per (dtype, device) so a GPU loop does not copy the constants every call.
    rows = {"xyz_from_rgb": XYZ_FROM_RGB, "yuv_from_rgb": YUV_FROM_RGB}
    if name.endswith("_inverse"):
        forward = torch.tensor(rows[name[: -len("_inverse")]], dtype=torch.float64)
        return torch.linalg.inv(forward).to(dtype=dtype, device=device)
    return torch.tensor(rows[name], dtype=dtype, device=device)


@functools.lru_cache(maxsize=None)
def _white(dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.tensor(D65_WHITE, dtype=dtype, device=device).view(1, 3, 1, 1)


def _apply(matrix_name: str, x: torch.Tensor) -> torch.Tensor:
    m = _matrix(matrix_name, x.dtype, str(x.device))
    return torch.einsum("ij,njhw->nihw", m, x)


def _precise(x: torch.Tensor) -> torch.Tensor:
    """float16 and bfloat16 in, float32 out: their 8-11 bits of mantissa would cost up to 0.4 Lab units."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _unbatch(x: torch.Tensor, single: bool) -> torch.Tensor:
    return x[0] if single else x


# --------------------------------------------------------------------- Lab

def _srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    # clamp inside the power so the unused branch of `where` cannot produce NaN gradients
    return torch.where(c > 0.04045, ((c.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, c / 12.92)


def linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    """sRGB's gamma, elementwise: linear-light values (any float tensor) to sRGB values, the same shape and dtype.

    [0, 1] maps onto [0, 1]: 12.92 c below 0.0031308, 1.055 c ** (1 / 2.4) - 0.055 above. The
    inverse of the first step of :func:`rgb_to_lab`.
    """
    return torch.where(c > 0.0031308, 1.055 * c.clamp(min=0.0031308) ** (1 / 2.4) - 0.055, 12.92 * c)


def rgb_to_lab(rgb) -> torch.Tensor:
    """sRGB to CIE Lab (D65, 2 degree observer), as ``skimage.color.rgb2lab``.

    Parameters
    ----------
    rgb : float tensor, (3,H,W) or (N,3,H,W), values in [0, 1]

    Returns
    -------
    Lab tensor of the same shape: L in [0, 100], a and b roughly in [-128, 127].
    Differentiable with respect to ``rgb``.
    """
    x, single = rgb_image(rgb, "rgb_to_lab input")
    x = _precise(x)
    xyz = _apply("xyz_from_rgb", _srgb_to_linear(x)) / _white(x.dtype, str(x.device))
    f = torch.where(xyz > _LAB_EPSILON, xyz.clamp(min=_LAB_EPSILON) ** (1 / 3), _LAB_KAPPA * xyz + 16 / 116)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    lab = torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=1)
    return _unbatch(lab, single)


def lab_to_rgb(lab) -> torch.Tensor:
    """CIE Lab (D65) to sRGB in [0, 1], as ``skimage.color.lab2rgb``.

    Parameters
    ----------
    lab : float tensor, (3,H,W) or (N,3,H,W); L in [0, 100], a and b about [-128, 127]

    Returns
    -------
    RGB of the same shape in [0, 1].

    Out-of-gamut colours are clipped, as scikit-image does: a negative Z is set to 0
    and the final RGB is clipped to [0, 1]. Many Lab triples (a bright saturated
    blue at L = 90, say) have no sRGB colour, so ``lab_to_rgb(rgb_to_lab(x))``
    is exact but ``rgb_to_lab(lab_to_rgb(lab))`` need not be. The gradient is
    zero where the clipping bites.
    """
    x, single = channels_image(lab, 3, "lab_to_rgb input", "Lab with L in [0, 100]")
    x = _precise(x)
    fy = (x[:, 0] + 16) / 116
    fx = x[:, 1] / 500 + fy
    fz = (fy - x[:, 2] / 200).clamp(min=0)
    f = torch.stack([fx, fy, fz], dim=1)
    xyz = torch.where(f > 0.2068966, f**3, (f - 16 / 116) / _LAB_KAPPA)
    xyz = xyz * _white(x.dtype, str(x.device))
    rgb = linear_to_srgb(_apply("xyz_from_rgb_inverse", xyz))
    return _unbatch(rgb.clamp(0.0, 1.0), single)


# --------------------------------------------------------------------- YUV

def rgb_to_yuv(rgb) -> torch.Tensor:
    """sRGB in [0, 1] to YUV (BT.601), as ``skimage.color.rgb2yuv``.

    (3,H,W) or (N,3,H,W) in, same shape out: Y in [0, 1], U in [-0.436, 0.436],
    V in [-0.615, 0.615]. A linear map, so exactly invertible by :func:`yuv_to_rgb`.
    """
    x, single = rgb_image(rgb, "rgb_to_yuv input")
    x = _precise(x)
    return _unbatch(_apply("yuv_from_rgb", x), single)


def yuv_to_rgb(yuv) -> torch.Tensor:
    """YUV (BT.601) to RGB, as ``skimage.color.yuv2rgb``. (3,H,W) or (N,3,H,W).

    Not clipped: a YUV triple outside the RGB cube maps outside [0, 1], which
    is what a loss on YUV predictions wants to see. Clip before displaying.
    """
    x, single = channels_image(yuv, 3, "yuv_to_rgb input", "YUV")
    x = _precise(x)
    return _unbatch(_apply("yuv_from_rgb_inverse", x), single)


# --------------------------------------------------------------------- HSV

def rgb_to_hsv(rgb) -> torch.Tensor:
    """sRGB in [0, 1] to HSV, as ``skimage.color.rgb2hsv``. (3,H,W) or (N,3,H,W).

    H is a fraction of a full turn in [0, 1) (0 red, 1/3 green, 2/3 blue) and
    wraps around: 0.99 and 0.01 are neighbours, which is why a loss on H is a
    poor idea. For gray pixels (max == min) H and S are 0; for black, S is 0.
    """
    x, single = rgb_image(rgb, "rgb_to_hsv input")
    x = _precise(x)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    v, argmax = x.max(dim=1)
    delta = v - x.min(dim=1).values
    gray = delta == 0
    safe_delta = torch.where(gray, torch.ones_like(delta), delta)
    s = torch.where(v > 0, delta / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    h = torch.where(
        argmax == 0,
        (g - b) / safe_delta,
        torch.where(argmax == 1, 2.0 + (b - r) / safe_delta, 4.0 + (r - g) / safe_delta),
    )
    h = torch.where(gray, torch.zeros_like(h), torch.remainder(h / 6.0, 1.0))
    return _unbatch(torch.stack([h, s, v], dim=1), single)


def hsv_to_rgb(hsv) -> torch.Tensor:
    """HSV (all channels in [0, 1]) to sRGB in [0, 1], as ``skimage.color.hsv2rgb``.

    (3,H,W) or (N,3,H,W). H is taken modulo 1, so H = 1.2 is the same hue as 0.2.
    """
    x, single = channels_image(hsv, 3, "hsv_to_rgb input", "HSV in [0, 1]")
    x = _precise(x)
    h, s, v = torch.remainder(x[:, 0], 1.0), x[:, 1], x[:, 2]
    channels = []
    for n in (5.0, 3.0, 1.0):  # R, G, B: the standard piecewise-linear hue ramps
        k = torch.remainder(n + 6.0 * h, 6.0)
        ramp = torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)
        channels.append(v - v * s * ramp)
    return _unbatch(torch.stack(channels, dim=1), single)


# --------------------------------------------------------------- L and ab

def rgb_to_l_ab(rgb) -> tuple[torch.Tensor, torch.Tensor]:
    """Split RGB into Lab's lightness L, shape (N,1,H,W) in [0, 100], and ab, shape (N,2,H,W).

    Unbatched (3,H,W) input gives (1,H,W) and (2,H,W).
    """
    lab = rgb_to_lab(rgb)
    return lab[..., :1, :, :], lab[..., 1:, :, :]


def l_ab_to_rgb(l, ab) -> torch.Tensor:
    """Join lightness L (N,1,H,W) and ab (N,2,H,W) into RGB in [0, 1] (out-of-gamut clipped)."""
    l = torch.as_tensor(l)
    ab = torch.as_tensor(ab)
    if l.ndim != ab.ndim or l.shape[-3] != 1 or ab.shape[-3] != 2 or l.shape[-2:] != ab.shape[-2:] or (
        l.ndim == 4 and l.shape[0] != ab.shape[0]
    ):
        raise ValueError(
            f"l_ab_to_rgb: expected L of shape (N,1,H,W) and ab of shape (N,2,H,W) with the same N, H, W "
            f"(or (1,H,W) and (2,H,W)), got {tuple(l.shape)} and {tuple(ab.shape)}."
        )
    return lab_to_rgb(torch.cat([l, ab.to(l.dtype)], dim=-3))


def rgb_to_gray(rgb) -> torch.Tensor:
    """The gray version a colorizer sees: RGB with a = b = 0 and the photo's own L.

    (3,H,W) or (N,3,H,W) in [0, 1]; the same shape out, three equal channels.
    This is the 'gray output' baseline of Zhu et al. (000, Table 1).
    """
    l, ab = rgb_to_l_ab(rgb)
    return l_ab_to_rgb(l, torch.zeros_like(ab))


def normalize_l(l: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> [-1, 1], the input every colorlab model takes."""
    return (l - L_CENTER) / L_SCALE


def denormalize_l(l_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize_l`: [-1, 1] -> L in [0, 100]."""
    return l_norm * L_SCALE + L_CENTER


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """ab (about +-110 in gamut) -> about [-1, 1], the target of the regression models (tanh output)."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize_ab`."""
    return ab_norm * AB_SCALE
