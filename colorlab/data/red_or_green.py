"""The red-or-green data set: the averaging problem of notebooks 01 and 05, as images.

Real textures keep their lightness and are painted one flat colour each, red or green in turn.
A colorizer sees only the lightness, which says nothing about the colour: whatever it predicts
is wrong for half the images. A network trained with the squared error (notebook 01) predicts
the halfway colour, a brownish olive that appears in none of the images; a classifier over the
313 bins (notebook 05) keeps both colours as two peaks of its distribution.

- :data:`RED_AB`, :data:`GREEN_AB`: the two colours, Lab (a, b).
- :func:`paint_red_or_green`: the images, from any real images' lightness.
"""

from __future__ import annotations

import torch

from ..color import lab_to_rgb, rgb_to_lab

# The two colours as (a, b): a red and a green of moderate chroma, both inside the sRGB gamut for
# every lightness the images get. float32 tensors of shape (2,); treat them as constants.
RED_AB = torch.tensor([40.0, 25.0])
GREEN_AB = torch.tensor([-40.0, 30.0])
L_LO, L_HI = 45.0, 70.0  # the lightness range of the painted images: both colours fit the gamut there


def paint_red_or_green(images: torch.Tensor, is_red: torch.Tensor | None = None, red_ab: torch.Tensor = RED_AB,
                       green_ab: torch.Tensor = GREEN_AB) -> torch.Tensor:
    """Real textures painted red or green: even indices red (:data:`RED_AB`), odd green (:data:`GREEN_AB`).

    Each image's Lab lightness is stretched linearly to span 45 to 70 (its own darkest pixel to 45,
    its brightest to 70; a flat image goes to 45), where both colours are displayable, and joined to
    the flat (a, b) of its colour. The texture stays, the colour is one of two and cannot be told from
    the lightness.

    Parameters
    ----------
    images : torch.uint8 tensor (N,3,H,W), RGB 0-255 (e.g. ``course.images("train")``), any device
    is_red : optional bool tensor (N,): which images are red, the others green. None: the even
        indices, so half the images are red. (``torch.arange(N) % 4 != 3``: three in four.)
    red_ab, green_ab : float tensors (2,), the (a, b) of the two colours

    Returns
    -------
    torch.uint8 tensor (N,3,H,W), RGB 0-255, on the images' device. Rounding to 8 bits moves each
    pixel's (a, b) by less than about one Lab unit from its colour.
    """
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        got = (f"a {images.dtype} tensor of shape {tuple(images.shape)}" if isinstance(images, torch.Tensor)
               else type(images).__name__)
        raise ValueError(f"paint_red_or_green: expected uint8 RGB images of shape (N, 3, H, W), got {got}.")
    if not len(images):
        raise ValueError("paint_red_or_green: got no images; expected at least one (N >= 1).")
    if is_red is None:
        is_red = torch.arange(len(images), device=images.device) % 2 == 0
    is_red = torch.as_tensor(is_red, device=images.device)
    if is_red.shape != (len(images),) or is_red.dtype != torch.bool:
        raise ValueError(f"paint_red_or_green: is_red must be a bool tensor of shape ({len(images)},), one per "
                         f"image, got a {is_red.dtype} tensor of shape {tuple(is_red.shape)}.")
    red, green = (torch.as_tensor(c, dtype=torch.float32, device=images.device) for c in (red_ab, green_ab))
    if red.shape != (2,) or green.shape != (2,):
        raise ValueError(f"paint_red_or_green: red_ab and green_ab must be (a, b) pairs, shape (2,), got "
                         f"{tuple(red.shape)} and {tuple(green.shape)}.")
    textures = rgb_to_lab(images.to(torch.float32) / 255)[:, :1]  # L of the real images
    low, high = textures.amin(dim=(2, 3), keepdim=True), textures.amax(dim=(2, 3), keepdim=True)
    lightness = L_LO + (L_HI - L_LO) * (textures - low) / (high - low + 1e-6)
    ab = torch.where(is_red[:, None, None, None], red[:, None, None], green[:, None, None])
    ab = ab.expand(-1, -1, *lightness.shape[2:])
    return (lab_to_rgb(torch.cat([lightness, ab], dim=1)) * 255).round().to(torch.uint8)


__all__ = ["RED_AB", "GREEN_AB", "L_LO", "L_HI", "paint_red_or_green"]
